namespace SharpQuant.Data;

/// <summary>
/// The common image preprocessing, at any size and layout: resize so the image covers the target with the margin of
/// torchvision's Resize(256)/CenterCrop(224) (the shorter side to 256/224 of the target's), centre crop to
/// height × width, pixels × scale, then per channel (x − mean) / std; RGB, BGR or one gray channel; NCHW or NHWC.
/// </summary>
public class NormalizedImagePreset : ImagePreset
{
    /// <summary>torchvision's evaluation transform resizes to 256 and crops 224: the crop keeps 224/256 of the shorter side.</summary>
    public const double CropFraction = 224.0 / 256.0;

    private readonly float[] _mean;
    private readonly float[] _std;
    private readonly float _divisor;

    public NormalizedImagePreset(
        string name, int height, int width, ImageLayout layout, ChannelOrder order, double scale, IReadOnlyList<float> mean, IReadOnlyList<float> std)
    {
        if (height < 1 || width < 1)
        {
            throw new SharpQuantException($"an image size needs positive height and width, not {height}×{width}");
        }
        var channels = order == ChannelOrder.Gray ? 1 : 3;
        Name = name;
        Height = height;
        Width = width;
        Layout = layout;
        Order = order;
        if (!(scale > 0) || !double.IsFinite(scale))
        {
            throw new SharpQuantException($"--scale takes a positive finite factor, not {scale}");
        }
        Scale = scale;
        // Divided, not multiplied: x / 255f is what torchvision's ToTensor computes, and the two differ in the last bit
        // (the scale is a double so that 1/255 comes back as exactly 255).
        _divisor = (float)(1.0 / scale);
        _mean = PerChannel(mean, channels, "--mean");
        _std = PerChannel(std, channels, "--std");
        if (_std.Any(s => s == 0 || !float.IsFinite(s)))
        {
            throw new SharpQuantException("--std takes finite, non-zero values");
        }
        var lo = Enumerable.Range(0, channels).Select(c => Math.Min(Normalize(0, c), Normalize(255, c))).Min();
        var hi = Enumerable.Range(0, channels).Select(c => Math.Max(Normalize(0, c), Normalize(255, c))).Max();
        InputRange = (lo, hi);
    }

    public override string Name { get; }
    public int Height { get; }
    public int Width { get; }
    public ImageLayout Layout { get; }
    public ChannelOrder Order { get; }
    public double Scale { get; }
    public IReadOnlyList<float> Mean => _mean;
    public IReadOnlyList<float> Std => _std;
    public int Channels => Order == ChannelOrder.Gray ? 1 : 3;

    public override (double Lo, double Hi) InputRange { get; }

    public override string Describe() =>
        $"{Name} at {Channels}×{Height}×{Width} {Layout.Name()}, {Order.Name()}, ÷{_divisor:G6}, mean [{string.Join(", ", _mean.Select(m => m.ToString("G4")))}], std [{string.Join(", ", _std.Select(s => s.ToString("G4")))}]";

    public override Tensor ToTensor(RgbImage image) => Planes(CoverAndCrop(image, Height, Width));

    /// <summary>One normalized channel value, in float arithmetic as torchvision's ToTensor and Normalize compute it.</summary>
    public float Normalize(float pixel, int channel) => (pixel / _divisor - _mean[channel]) / _std[channel];

    /// <summary>The image (already height × width) as a [1, C, H, W] or [1, H, W, C] tensor.</summary>
    public Tensor Planes(RgbImage image)
    {
        var plane = image.Width * image.Height;
        var channels = Channels;
        var data = new float[channels * plane];
        var pixels = image.Pixels;
        for (var p = 0; p < plane; p++)
        {
            for (var c = 0; c < channels; c++)
            {
                var value = Order switch
                {
                    ChannelOrder.Rgb => pixels[p * 3 + c],
                    ChannelOrder.Bgr => pixels[p * 3 + 2 - c],
                    _ => 0.299f * pixels[p * 3] + 0.587f * pixels[p * 3 + 1] + 0.114f * pixels[p * 3 + 2],
                };
                var index = Layout == ImageLayout.Nchw ? c * plane + p : p * channels + c;
                data[index] = Normalize(value, c);
            }
        }
        return Layout == ImageLayout.Nchw
            ? Tensor.FromFloats(data, 1, channels, image.Height, image.Width)
            : Tensor.FromFloats(data, 1, image.Height, image.Width, channels);
    }

    /// <summary>Resizes so the image covers height × width by the crop margin, then crops the centre.</summary>
    public static RgbImage CoverAndCrop(RgbImage image, int height, int width)
    {
        var scale = Math.Max(height / (double)image.Height, width / (double)image.Width) / CropFraction;
        var w = Math.Max(width, (int)Math.Round(image.Width * scale));
        var h = Math.Max(height, (int)Math.Round(image.Height * scale));
        var resized = ImageFiles.Resize(image, w, h);
        return ImageFiles.Crop(resized, (w - width) / 2, (h - height) / 2, width, height);
    }

    private static float[] PerChannel(IReadOnlyList<float> values, int channels, string option)
    {
        if (values.Count == channels)
        {
            return [.. values];
        }
        if (values.Count == 1)
        {
            return Enumerable.Repeat(values[0], channels).ToArray();
        }
        if (channels == 1 && values.Count == 3)
        {
            // Three-channel statistics for a gray input: their average, as for a gray image replicated to RGB.
            return [values.Average()];
        }
        throw new SharpQuantException($"{option} takes 1 or {channels} values for a {channels}-channel input, not {values.Count}");
    }
}
