namespace SharpQuant.Data;

/// <summary>
/// torchvision's ImageNet preprocessing (the transforms of the torchvision classification models' documentation):
/// shorter side resized to 256 with bilinear filtering, centre crop 224, RGB scaled to 0–1, then per channel
/// (x − mean) / std with the ImageNet statistics below. Other sizes keep the same crop margin (the shorter side
/// resized to 256/224 of the crop's), and the layout, channel order and normalization can be set.
/// </summary>
public sealed class ImageNetPreset : NormalizedImagePreset
{
    /// <summary>torchvision <c>transforms.Resize(256)</c>: the shorter side after resizing.</summary>
    public const int ResizeShorter = 256;

    /// <summary>torchvision <c>transforms.CenterCrop(224)</c>.</summary>
    public const int CropSize = 224;

    /// <summary>Pixels are divided by 255 (torchvision's ToTensor).</summary>
    public const double PixelScale = 1.0 / 255.0;

    /// <summary>ImageNet per-channel mean of RGB/255 (torchvision <c>transforms.Normalize</c> in its model documentation).</summary>
    public static IReadOnlyList<float> ImageNetMean { get; } = [0.485f, 0.456f, 0.406f];

    /// <summary>ImageNet per-channel standard deviation of RGB/255 (same source as <see cref="ImageNetMean"/>).</summary>
    public static IReadOnlyList<float> ImageNetStd { get; } = [0.229f, 0.224f, 0.225f];

    /// <summary>The torchvision transform: 3×224×224 NCHW RGB.</summary>
    public ImageNetPreset() : this(CropSize, CropSize, ImageLayout.Nchw, ImagePresetOptions.None) { }

    public ImageNetPreset(int height, int width, ImageLayout layout, ImagePresetOptions options, int channels = 3)
        : base(
            "imagenet", height, width, layout,
            options.ChannelOrder ?? (channels == 1 ? Data.ChannelOrder.Gray : Data.ChannelOrder.Rgb),
            options.Scale ?? PixelScale,
            options.Mean ?? ImageNetMean,
            options.Std ?? ImageNetStd)
    {
    }
}
