namespace SharpQuant.Data;

/// <summary>
/// What a user overrides of a preset (the CLI's --size, --layout, --mean, --std, --scale, --channel-order); null
/// keeps what the model's input and the preset decide.
/// </summary>
public sealed record ImagePresetOptions
{
    public (int Height, int Width)? Size { get; init; }
    public ImageLayout? Layout { get; init; }

    /// <summary>Per channel (or one value for all) mean subtracted after scaling.</summary>
    public IReadOnlyList<float>? Mean { get; init; }

    /// <summary>Per channel (or one value for all) divisor after subtracting the mean.</summary>
    public IReadOnlyList<float>? Std { get; init; }

    /// <summary>The factor pixels (0–255) are multiplied by first: 1/255 for 0–1 inputs, 1 for 0–255.</summary>
    public double? Scale { get; init; }

    public ChannelOrder? ChannelOrder { get; init; }

    public static ImagePresetOptions None { get; } = new();

    /// <summary>Whether any normalization override is set (they apply to the normalizing presets only).</summary>
    public bool OverridesNormalization => Mean is not null || Std is not null || Scale is not null || ChannelOrder is not null;
}

/// <summary>Decides an image preset's height and width from the model's input and the user's --size.</summary>
public static class ImageGeometry
{
    /// <summary>
    /// The model's fixed size; where it is dynamic, the user's --size, else <paramref name="fallback"/>. A --size
    /// that differs from a fixed size is an error naming both.
    /// </summary>
    public static (int Height, int Width) Fit(ImageInput input, (int Height, int Width)? requested, (int Height, int Width) fallback)
    {
        var height = Axis(input.Height, requested?.Height, fallback.Height);
        var width = Axis(input.Width, requested?.Width, fallback.Width);
        if (requested is { } r && (input.Height is { } h && h != r.Height || input.Width is { } w && w != r.Width))
        {
            throw new SharpQuantException(
                $"--size {r.Height}x{r.Width} does not fit input '{input.Name}', which takes {input.Describe()}: use --size {height}x{width} or leave it out");
        }
        return (height, width);
    }

    private static int Axis(int? model, int? requested, int fallback) => model ?? requested ?? fallback;
}
