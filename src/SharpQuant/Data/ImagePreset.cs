using SharpQuant.Models;
using SharpQuant.Onnx;
using SharpQuant.Runtime;

namespace SharpQuant.Data;

/// <summary>Turns decoded images into the input tensor a model expects.</summary>
public abstract class ImagePreset
{
    public abstract string Name { get; }

    /// <summary>The preset with the size, layout and normalization it applies, for messages.</summary>
    public virtual string Describe() => Name;

    /// <summary>The range every model input value falls in, for data-free activation ranges.</summary>
    public abstract (double Lo, double Hi) InputRange { get; }

    /// <summary>One image as a [1, C, H, W] tensor.</summary>
    public abstract Tensor ToTensor(RgbImage image);

    /// <summary>Stacks several [1, C, H, W] tensors into one batch.</summary>
    public static Tensor Batch(IReadOnlyList<Tensor> images)
    {
        var shape = images[0].Shape.ToArray();
        var per = images[0].ElementCount;
        var data = new float[per * images.Count];
        for (var i = 0; i < images.Count; i++)
        {
            images[i].Floats.CopyTo(data.AsSpan((int)(i * per)));
        }
        shape[0] = images.Count;
        return Tensor.FromFloats(data, shape);
    }

    /// <summary>Resizes the shorter side to <paramref name="shorter"/> and crops the centre square of <paramref name="crop"/> pixels.</summary>
    public static RgbImage ResizeAndCenterCrop(RgbImage image, int shorter, int crop)
    {
        var scale = (double)shorter / Math.Min(image.Width, image.Height);
        // Checked before the casts to int: a 10000×1 strip would become 2560000×256 pixels.
        ImageFiles.CheckPixelCount(Math.Round(image.Width * scale), Math.Round(image.Height * scale), image.Source, "would be resized to");
        var w = Math.Max(crop, (int)Math.Round(image.Width * scale));
        var h = Math.Max(crop, (int)Math.Round(image.Height * scale));
        var resized = ImageFiles.Resize(image, w, h);
        return ImageFiles.Crop(resized, (w - crop) / 2, (h - crop) / 2, crop, crop);
    }
}

/// <summary>
/// The default ResNet18's preprocessing: shorter side 256, centre crop 224, 0–255 RGB pixels, then the shipped
/// ResNetPreprocess.onnx (RGB → BGR and subtraction of a 224×224 mean image), run in ONNX Runtime, or with
/// <see cref="InManagedCode"/> the same arithmetic in C# with the mean image read from that file.
/// </summary>
public sealed class ResNet18Preset : ImagePreset, IDisposable
{
    public const int ResizeShorter = 256;
    public const int CropSize = 224;

    private readonly GraphExecutor? _preprocess;
    private readonly float[] _meanImage;

    /// <summary>Runs ResNetPreprocess.onnx in ONNX Runtime.</summary>
    public ResNet18Preset() : this(useOnnxRuntime: true) { }

    private ResNet18Preset(bool useOnnxRuntime)
    {
        var model = OnnxModel.Load(DefaultModels.ResNet18PreprocessPath);
        // The model's one constant with more than one element is the [1, 3, 224, 224] mean image, in BGR order.
        _meanImage = model.Constants.Single(c => c.ConstantValue!.ElementCount > 1).ConstantValue!.ToArray<float>();
        // The preprocessing subtracts a mean image from 0–255 pixels, so inputs lie in [−max(mean), 255 − min(mean)].
        InputRange = (-_meanImage.Max(), 255 - _meanImage.Min());
        _preprocess = useOnnxRuntime ? new GraphExecutor(model) : null;
    }

    /// <summary>The same preprocessing computed in C# (no ONNX Runtime session): BGR planes minus the mean image.</summary>
    public static ResNet18Preset InManagedCode() => new(useOnnxRuntime: false);

    public override string Name => "resnet18";

    public override string Describe() => $"{Name} at 3×{CropSize}×{CropSize} NCHW (BGR minus the mean image)";

    public override (double Lo, double Hi) InputRange { get; }

    /// <summary>Whether <see cref="ToTensor"/> runs ResNetPreprocess.onnx in ONNX Runtime.</summary>
    public bool UsesOnnxRuntime => _preprocess is not null;

    public override Tensor ToTensor(RgbImage image)
    {
        var crop = ResizeAndCenterCrop(image, ResizeShorter, CropSize);
        return _preprocess is null ? SubtractMean(crop) : _preprocess.Run(RgbPlanes(crop));
    }

    private Tensor SubtractMean(RgbImage crop)
    {
        var plane = CropSize * CropSize;
        var data = new float[3 * plane];
        for (var p = 0; p < plane; p++)
        {
            for (var c = 0; c < 3; c++)
            {
                // Plane c of the output is BGR channel c: the RGB byte 2 − c.
                data[c * plane + p] = crop.Pixels[p * 3 + 2 - c] - _meanImage[c * plane + p];
            }
        }
        return Tensor.FromFloats(data, 1, 3, CropSize, CropSize);
    }

    /// <summary>[1, 3, H, W] RGB planes with 0–255 values.</summary>
    public static Tensor RgbPlanes(RgbImage image)
    {
        var plane = image.Width * image.Height;
        var data = new float[3 * plane];
        for (var p = 0; p < plane; p++)
        {
            data[p] = image.Pixels[p * 3];
            data[plane + p] = image.Pixels[p * 3 + 1];
            data[2 * plane + p] = image.Pixels[p * 3 + 2];
        }
        return Tensor.FromFloats(data, 1, 3, image.Height, image.Width);
    }

    public void Dispose() => _preprocess?.Dispose();
}

/// <summary>
/// PaddleOCR's text-line orientation classifier: height 48 keeping the aspect ratio (width capped at 192),
/// padded on the right with zeros to 192, BGR, value = (pixel/255 − 0.5)/0.5; other heights and widths where a
/// model takes them.
/// </summary>
public sealed class PpocrClsPreset : ImagePreset
{
    public const int DefaultHeight = 48;
    public const int DefaultWidth = 192;

    public PpocrClsPreset(int height = DefaultHeight, int width = DefaultWidth)
    {
        if (height < 1 || width < 1)
        {
            throw new SharpQuantException($"an image size needs positive height and width, not {height}×{width}");
        }
        Height = height;
        Width = width;
    }

    public int Height { get; }
    public int Width { get; }

    public override string Name => "ppocr-cls";

    public override string Describe() => $"{Name} at 3×{Height}×{Width} NCHW";

    /// <summary>(pixel/255 − 0.5)/0.5 spans [−1, 1]; the zero padding lies inside it.</summary>
    public override (double Lo, double Hi) InputRange => (-1, 1);

    public override Tensor ToTensor(RgbImage image)
    {
        var w = Math.Min(Width, Math.Max(1, (int)Math.Ceiling(Height * (double)image.Width / image.Height)));
        var resized = ImageFiles.Resize(image, w, Height);
        var plane = Height * Width;
        var data = new float[3 * plane];
        for (var y = 0; y < Height; y++)
        {
            for (var x = 0; x < w; x++)
            {
                var src = (y * w + x) * 3;
                var dst = y * Width + x;
                for (var c = 0; c < 3; c++)
                {
                    // BGR order: plane 0 takes the blue byte.
                    data[c * plane + dst] = (resized.Pixels[src + 2 - c] / 255f - 0.5f) / 0.5f;
                }
            }
        }
        return Tensor.FromFloats(data, 1, 3, Height, Width);
    }
}
