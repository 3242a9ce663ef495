namespace SharpQuant.Data;

/// <summary>
/// Everything that decides one rendered text line's pixels. Rendering a spec is deterministic: the same spec
/// gives the same pixels. <see cref="Rotated"/> only turns the finished upright rendering by 180°, so a rotated
/// line is exactly the upside-down image of the same spec with <c>Rotated = false</c>.
/// </summary>
/// <param name="Text">The words drawn.</param>
/// <param name="Font">Index into <see cref="DejaVuFonts.Files"/>.</param>
/// <param name="FontSize">Text size in pixels (the em height).</param>
/// <param name="Width">Image width in pixels.</param>
/// <param name="Height">Image height (the line height) in pixels.</param>
/// <param name="X">Left end of the text's baseline.</param>
/// <param name="Baseline">Vertical position of the baseline, from the top.</param>
/// <param name="Background">Paper colour, light.</param>
/// <param name="Ink">Text colour, dark.</param>
/// <param name="BlurSigma">Gaussian blur of the glyphs in pixels; 0 for sharp text.</param>
/// <param name="NoiseSigma">Standard deviation of the per-pixel Gaussian noise, in 0–255 units.</param>
/// <param name="NoiseSeed">Seed of the noise pattern.</param>
/// <param name="Rotated">Upside down (label 180) when true.</param>
public sealed record TextLineSpec(
    string Text,
    int Font,
    float FontSize,
    int Width,
    int Height,
    float X,
    float Baseline,
    Rgb Background,
    Rgb Ink,
    float BlurSigma,
    float NoiseSigma,
    int NoiseSeed,
    bool Rotated)
{
    /// <summary>The classifier's class index: 0 for upright text (label "0"), 1 for upside-down text (label "180").</summary>
    public int Label => Rotated ? TextOrientationDataset.LabelRotated : TextOrientationDataset.LabelUpright;
}

/// <summary>An 8-bit RGB colour.</summary>
public readonly record struct Rgb(byte R, byte G, byte B);
