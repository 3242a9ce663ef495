namespace SharpQuant.Data;

/// <summary>The named presets (the CLI's <c>--preset</c>), made to fit a model's image input.</summary>
public static class ImagePresets
{
    public static readonly IReadOnlyList<string> Names = ["resnet18", "imagenet", "ppocr-cls"];

    /// <summary>A preset at its own default size and layout.</summary>
    public static ImagePreset Create(string name) => name switch
    {
        "resnet18" => new ResNet18Preset(),
        "imagenet" => new ImageNetPreset(),
        "ppocr-cls" => new PpocrClsPreset(),
        _ => throw new SharpQuantException($"unknown preset '{name}' (use {string.Join(", ", Names)})"),
    };

    /// <summary>
    /// A preset for the model's image input: its layout, channels and fixed size, or for a dynamic size the user's
    /// --size or the preset's default. What cannot fit (a --size or --layout against the model, a preset that has one
    /// size or layout only, normalization options on a preset that fixes its own) is one error line that says what
    /// the model takes and which option fits.
    /// </summary>
    public static ImagePreset Fit(string name, ImageInput input, ImagePresetOptions options)
    {
        if (options.Layout is { } layout && layout != input.Layout)
        {
            throw new SharpQuantException(
                $"--layout {layout.Name().ToLowerInvariant()} does not fit input '{input.Name}', which takes {input.Describe()}: use --layout {input.Layout.Name().ToLowerInvariant()} or leave it out");
        }
        switch (name)
        {
            case "resnet18":
                RefuseNormalization(name, options);
                var size = ImageGeometry.Fit(input, options.Size, (ResNet18Preset.CropSize, ResNet18Preset.CropSize));
                if (input.Layout != ImageLayout.Nchw || input.Channels != 3 || size != (ResNet18Preset.CropSize, ResNet18Preset.CropSize))
                {
                    throw new SharpQuantException(
                        $"preset resnet18 makes 3×224×224 NCHW tensors, but input '{input.Name}' takes {input.Describe()}: use --preset imagenet (with --mean, --std, --scale as the model needs)");
                }
                return new ResNet18Preset();
            case "ppocr-cls":
                RefuseNormalization(name, options);
                if (input.Layout != ImageLayout.Nchw || input.Channels != 3)
                {
                    throw new SharpQuantException(
                        $"preset ppocr-cls makes 3-channel NCHW tensors, but input '{input.Name}' takes {input.Describe()}: use --preset imagenet (with --mean, --std, --scale as the model needs)");
                }
                var (h, w) = ImageGeometry.Fit(input, options.Size, (PpocrClsPreset.DefaultHeight, PpocrClsPreset.DefaultWidth));
                return new PpocrClsPreset(h, w);
            case "imagenet":
                if (options.ChannelOrder is { } order && (order == ChannelOrder.Gray) != (input.Channels == 1))
                {
                    throw new SharpQuantException(
                        $"--channel-order {order.Name().ToLowerInvariant()} does not fit input '{input.Name}', which takes {input.Describe()}: use {(input.Channels == 1 ? "gray" : "rgb or bgr")}");
                }
                var (height, width) = ImageGeometry.Fit(input, options.Size, (ImageNetPreset.CropSize, ImageNetPreset.CropSize));
                return new ImageNetPreset(height, width, input.Layout, options, input.Channels);
            default:
                throw new SharpQuantException($"unknown preset '{name}' (use {string.Join(", ", Names)})");
        }
    }

    private static void RefuseNormalization(string name, ImagePresetOptions options)
    {
        if (options.OverridesNormalization)
        {
            throw new SharpQuantException($"preset {name} fixes its own normalization; --mean, --std, --scale and --channel-order apply to --preset imagenet");
        }
    }
}
