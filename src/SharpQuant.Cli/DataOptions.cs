using System.CommandLine;
using System.Globalization;
using SharpQuant.Data;
using SharpQuant.Models;

namespace SharpQuant.Cli;

/// <summary>
/// The data options every command that runs a model on data shares: --images through a preset fitted to the model's
/// input (--preset, --size, --layout, --mean, --std, --scale, --channel-order), or --inputs, a folder of .npy tensor
/// files for any input. Declared once so names, parsing and messages are the same in every command.
/// </summary>
public sealed class DataOptions
{
    /// <summary>The --preset value that picks resnet18 for the shipped ResNet18 and imagenet for any other model.</summary>
    public const string AutoPreset = "auto";

    private DataOptions(string imagesDescription, bool tensors)
    {
        Images = new Option<string>("--images") { Description = imagesDescription };
        Inputs = tensors
            ? new Option<string>("--inputs")
            {
                Description = "Instead of --images: a folder of .npy tensors, one sample or one batch per file (DIR/*.npy; with several model inputs DIR/<input name>/*.npy, the same file names in each)",
            }
            : null;
        Preset = new Option<string>("--preset")
        {
            Description = "Image preprocessing: auto (resnet18 for the shipped ResNet18, else imagenet), resnet18, imagenet or ppocr-cls; size and layout follow the model's input",
            DefaultValueFactory = _ => AutoPreset,
        };
        Preset.AcceptOnlyFromAmong([AutoPreset, .. ImagePresets.Names]);
        Size = new Option<string>("--size") { Description = "Image size HxW (or N for N×N) where the model's input size is dynamic (default: the preset's, 224x224 for imagenet)" };
        Layout = new Option<string>("--layout") { Description = "Image layout nchw or nhwc (default: read from the model's input)" };
        Layout.AcceptOnlyFromAmong("nchw", "nhwc");
        Mean = new Option<string>("--mean") { Description = "imagenet preset: per-channel mean after scaling, e.g. 0.5,0.5,0.5 (default: the ImageNet mean)" };
        Std = new Option<string>("--std") { Description = "imagenet preset: per-channel std, e.g. 0.5 (default: the ImageNet std)" };
        Scale = new Option<string>("--scale") { Description = "imagenet preset: factor on 0-255 pixels before the mean, e.g. 1/255 (the default) or 1" };
        ChannelOrder = new Option<string>("--channel-order") { Description = "imagenet preset: rgb (default for 3 channels), bgr or gray (1-channel inputs)" };
        ChannelOrder.AcceptOnlyFromAmong("rgb", "bgr", "gray");
    }

    public Option<string> Images { get; }
    public Option<string>? Inputs { get; }
    public Option<string> Preset { get; }
    public Option<string> Size { get; }
    public Option<string> Layout { get; }
    public Option<string> Mean { get; }
    public Option<string> Std { get; }
    public Option<string> Scale { get; }
    public Option<string> ChannelOrder { get; }

    /// <summary>Data options with --inputs (tensor files) where <paramref name="tensors"/>.</summary>
    public static DataOptions Create(string imagesDescription, bool tensors = true) => new(imagesDescription, tensors);

    public void AddTo(Command command)
    {
        command.Options.Add(Images);
        if (Inputs is not null)
        {
            command.Options.Add(Inputs);
        }
        foreach (var option in new[] { Preset, Size, Layout, Mean, Std, Scale, ChannelOrder })
        {
            command.Options.Add(option);
        }
    }

    public string? ImageFolder(ParseResult parse) => parse.GetValue(Images);

    public string? TensorFolder(ParseResult parse) => Inputs is null ? null : parse.GetValue(Inputs);

    /// <summary>Whether the user gave --images or --inputs; both at once is a usage error.</summary>
    public bool HasData(ParseResult parse)
    {
        if (ImageFolder(parse) is not null && TensorFolder(parse) is not null)
        {
            throw new UsageException("--images and --inputs exclude each other");
        }
        return ImageFolder(parse) is not null || TensorFolder(parse) is not null;
    }

    /// <summary>Whether --preset was given on the command line (not its default).</summary>
    public bool PresetGiven(ParseResult parse) => parse.GetResult(Preset) is { Implicit: false };

    /// <summary>The preset name, with auto resolved for the model at <paramref name="modelPath"/>.</summary>
    public string PresetName(ParseResult parse, string modelPath)
    {
        var name = parse.GetValue(Preset) ?? AutoPreset;
        if (name != AutoPreset)
        {
            return name;
        }
        return IsShippedResNet18(modelPath) ? "resnet18" : "imagenet";
    }

    /// <summary>The preset named (or auto) made to fit the model's image input and the user's overrides.</summary>
    public ImagePreset FitPreset(ParseResult parse, Graph graph, string modelPath) => FitNamedPreset(parse, graph, PresetName(parse, modelPath));

    /// <summary>The preset <paramref name="presetName"/> made to fit the model's image input and the user's overrides.</summary>
    public ImagePreset FitNamedPreset(ParseResult parse, Graph graph, string presetName)
    {
        var options = PresetOptions(parse);
        var input = ImageInput.Of(graph, options.Layout);
        return ImagePresets.Fit(presetName, input, options);
    }

    /// <summary>
    /// The data given for <paramref name="graph"/>: images through the fitted preset (one set of the split, or every
    /// image whole and with <paramref name="includeFlips"/> mirrored), or tensor files (every other file for a set of
    /// the split); null when neither --images nor --inputs is given.
    /// </summary>
    public GivenData? Open(ParseResult parse, Graph graph, string modelPath, int batchSize, ImageSet? split, int seed, bool includeFlips)
    {
        if (!HasData(parse))
        {
            return null;
        }
        if (TensorFolder(parse) is { } tensors)
        {
            if (parse.GetResult(Size) is { Implicit: false } || parse.GetResult(Layout) is { Implicit: false } || PresetOptions(parse).OverridesNormalization || PresetGiven(parse))
            {
                throw new UsageException("--preset, --size, --layout, --mean, --std, --scale and --channel-order shape images; tensor files from --inputs are fed as they are");
            }
            return new GivenData(TensorFiles.Open(tensors, graph, batchSize).Subset(split ?? ImageSet.All), null);
        }
        var preset = FitPreset(parse, graph, modelPath);
        try
        {
            var folder = ImageFolder(parse)!;
            var images = split is { } set
                ? new ImageBatches(folder, preset, batchSize, new CropPlan(seed), set)
                : new ImageBatches(folder, preset, batchSize, includeFlips);
            return new GivenData(new ImageSource(images, graph.Inputs[0].Name), preset);
        }
        catch
        {
            (preset as IDisposable)?.Dispose();
            throw;
        }
    }

    /// <summary>The overrides as given; malformed values are one usage line.</summary>
    public ImagePresetOptions PresetOptions(ParseResult parse) => new()
    {
        Size = parse.GetValue(Size) is { } size ? ParseSize(size) : null,
        Layout = parse.GetValue(Layout) is { } layout ? ImageLayouts.ParseLayout(layout) : null,
        Mean = parse.GetValue(Mean) is { } mean ? ParseFloats(mean, "--mean") : null,
        Std = parse.GetValue(Std) is { } std ? ParseFloats(std, "--std") : null,
        Scale = parse.GetValue(Scale) is { } scale ? ParseScale(scale) : null,
        ChannelOrder = parse.GetValue(ChannelOrder) is { } order ? ImageLayouts.ParseChannelOrder(order) : null,
    };

    /// <summary>"HxW", "H×W" or "N".</summary>
    public static (int Height, int Width) ParseSize(string text)
    {
        var parts = text.Split(['x', 'X', '×'], StringSplitOptions.TrimEntries);
        if (parts.Length is 1 or 2 && parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v is >= 1 and <= 16384))
        {
            var h = int.Parse(parts[0], CultureInfo.InvariantCulture);
            return (h, parts.Length == 2 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : h);
        }
        throw new UsageException($"--size takes HxW or N in pixels (1 to 16384), for example 128x128, not '{text}'");
    }

    private static float[] ParseFloats(string text, string option)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var values = new float[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]) || !float.IsFinite(values[i]))
            {
                throw new UsageException($"{option} takes finite numbers separated by commas, for example 0.5,0.5,0.5, not '{text}'");
            }
        }
        return values;
    }

    private static double ParseScale(string text)
    {
        var parts = text.Split('/', StringSplitOptions.TrimEntries);
        if (parts.Length is 1 or 2
            && parts.All(p => double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) && v > 0))
        {
            var value = parts.Length == 1
                ? double.Parse(parts[0], CultureInfo.InvariantCulture)
                : double.Parse(parts[0], CultureInfo.InvariantCulture) / double.Parse(parts[1], CultureInfo.InvariantCulture);
            if (float.IsFinite((float)value) && (float)value > 0)
            {
                return value;
            }
        }
        throw new UsageException($"--scale takes a positive factor such as 1/255 or 1, not '{text}'");
    }

    private static bool IsShippedResNet18(string modelPath)
    {
        try
        {
            return string.Equals(Path.GetFullPath(modelPath), Path.GetFullPath(DefaultModels.ResNet18Path), StringComparison.Ordinal);
        }
        catch (SharpQuantException)
        {
            return false;
        }
    }
}

/// <summary>The data a command was given: its batches and, for images, the preset they went through.</summary>
public sealed class GivenData(IInputSource source, ImagePreset? preset) : IDisposable
{
    public IInputSource Source { get; } = source;
    public ImagePreset? Preset { get; } = preset;

    /// <summary>The images, where the data are images.</summary>
    public ImageBatches? Images => (Source as ImageSource)?.Images;

    /// <summary>"preset imagenet at 3×128×128 NHWC, …" or "tensor files".</summary>
    public string Preprocessing => Preset is { } preset ? "preset " + preset.Describe() : "tensor files, fed as they are";

    /// <summary>Single-input batches as tensors, for the steps that take a model with one input.</summary>
    public IEnumerable<Tensor> SingleInputBatches() => Source.Batches().Select(b => b.Single);

    public void Dispose() => (Preset as IDisposable)?.Dispose();
}
