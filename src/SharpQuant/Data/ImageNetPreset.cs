namespace SharpQuant.Data;

/// <summary>
/// torchvision's ImageNet preprocessing (the transforms of the torchvision classification models' documentation):
/// shorter side resized to 256 with bilinear filtering, centre crop 224, RGB scaled to 0–1, then per channel
/// (x − mean) / std with the ImageNet statistics below.
/// </summary>
public sealed class ImageNetPreset : ImagePreset
{
    /// <summary>torchvision <c>transforms.Resize(256)</c>: the shorter side after resizing.</summary>
    public const int ResizeShorter = 256;

    /// <summary>torchvision <c>transforms.CenterCrop(224)</c>.</summary>
    public const int CropSize = 224;

    /// <summary>ImageNet per-channel mean of RGB/255 (torchvision <c>transforms.Normalize</c> in its model documentation).</summary>
    public static IReadOnlyList<float> Mean { get; } = [0.485f, 0.456f, 0.406f];

    /// <summary>ImageNet per-channel standard deviation of RGB/255 (same source as <see cref="Mean"/>).</summary>
    public static IReadOnlyList<float> Std { get; } = [0.229f, 0.224f, 0.225f];

    public override string Name => "imagenet";

    /// <summary>Pixel 0 and 255 through each channel's normalization: the lowest and highest values any channel can take.</summary>
    public override (double Lo, double Hi) InputRange { get; } = (
        Enumerable.Range(0, 3).Min(c => Normalize(0, c)),
        Enumerable.Range(0, 3).Max(c => Normalize(255, c)));

    public override Tensor ToTensor(RgbImage image) => Planes(ResizeAndCenterCrop(image, ResizeShorter, CropSize));

    /// <summary>[1, 3, H, W] RGB planes of (pixel/255 − mean)/std, without resizing.</summary>
    public static Tensor Planes(RgbImage image)
    {
        var plane = image.Width * image.Height;
        var data = new float[3 * plane];
        for (var p = 0; p < plane; p++)
        {
            for (var c = 0; c < 3; c++)
            {
                data[c * plane + p] = Normalize(image.Pixels[p * 3 + c], c);
            }
        }
        return Tensor.FromFloats(data, 1, 3, image.Height, image.Width);
    }

    /// <summary>One channel value, in float arithmetic as torchvision's ToTensor and Normalize compute it.</summary>
    public static float Normalize(byte pixel, int channel) => (pixel / 255f - Mean[channel]) / Std[channel];
}
