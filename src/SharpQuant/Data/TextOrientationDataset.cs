using SkiaSharp;
using SharpQuant.IO;

namespace SharpQuant.Data;

/// <summary>
/// A deterministic set of rendered Latin text lines for PaddleOCR's orientation classifier (ppocr-cls): random
/// common English words in the DejaVu faces, dark ink on light paper of random colours, light Gaussian noise and
/// now and then a slight blur. Odd-numbered lines are turned by 180° (label 180) and even-numbered ones stay upright
/// (label 0), so any even count is exactly half and half. Line i depends only on the seed and i: the same seed gives
/// the same pixels, and a longer set starts with the lines of a shorter one.
/// </summary>
public sealed class TextOrientationDataset : IDisposable
{
    public const int LabelUpright = 0;
    public const int LabelRotated = 1;

    /// <summary>Text sizes in pixels, inclusive: the range the shared data README's measurement used.</summary>
    public const int MinFontSize = 28;
    public const int MaxFontSize = 44;

    /// <summary>Line heights in pixels, inclusive: a little taller than the text, like a cropped detection box.</summary>
    public const int MinLineHeight = 48;
    public const int MaxLineHeight = 64;

    /// <summary>
    /// The widest line relative to its height: the classifier's input is 48×192, so at 4:1 a line fills the
    /// width without being squeezed by the preset's width cap.
    /// </summary>
    public const double MaxAspect = PpocrClsPreset.DefaultWidth / (double)PpocrClsPreset.DefaultHeight;

    /// <summary>The narrowest target aspect: shorter lines leave the right part of the input as zero padding, as short words do in real use.</summary>
    public const double MinAspect = 3.0;

    /// <summary>Share of lines drawn with a slight blur.</summary>
    public const double BlurShare = 0.2;

    private readonly DejaVuFonts _fonts;

    /// <param name="fontFolder">Folder with the DejaVu .ttf files; <see cref="DejaVuFonts.DefaultFolder"/> when null.</param>
    public TextOrientationDataset(int seed, int count, string? fontFolder = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Seed = seed;
        Count = count;
        _fonts = new DejaVuFonts(fontFolder);
    }

    public int Seed { get; }
    public int Count { get; }

    /// <summary>The font files in use.</summary>
    public IReadOnlyList<string> FontFiles => _fonts.Files;

    /// <summary>The parameters of line <paramref name="index"/> (drawn from a generator seeded by the seed and the index).</summary>
    public TextLineSpec Spec(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        var random = new Random(LineSeed(Seed, index));
        var fontIndex = random.Next(_fonts.Count);
        var fontSize = random.Next(MinFontSize, MaxFontSize + 1);
        var height = Math.Clamp((int)Math.Round(fontSize * Uniform(random, 1.2, 1.5)), MinLineHeight, MaxLineHeight);
        var left = random.Next(2, 11);
        var right = random.Next(2, 11);
        var maxTextWidth = height * Uniform(random, MinAspect, MaxAspect) - left - right;

        using var font = new SKFont(_fonts[fontIndex], fontSize) { Hinting = SKFontHinting.None, Subpixel = false };
        var text = Words(random, font, maxTextWidth);
        var textWidth = font.MeasureText(text);
        var width = (int)Math.Ceiling(left + textWidth + right);

        // Centre the font's ascent–descent band vertically, with a little jitter as a detector's crop would have.
        var metrics = font.Metrics;
        var baseline = height / 2f - (metrics.Ascent + metrics.Descent) / 2f + (float)Uniform(random, -2.0, 2.0);

        var paper = random.Next(200, 256);
        var background = new Rgb(Channel(random, paper, 25, 170), Channel(random, paper, 25, 170), Channel(random, paper, 25, 170));
        var inkBase = random.Next(0, 80);
        var ink = new Rgb(Channel(random, inkBase, 20, 0), Channel(random, inkBase, 20, 0), Channel(random, inkBase, 20, 0));
        var blur = random.NextDouble() < BlurShare ? (float)Uniform(random, 0.4, 1.0) : 0f;
        var noise = (float)Uniform(random, 1.0, 6.0);
        return new TextLineSpec(text, fontIndex, fontSize, width, height, left, baseline, background, ink, blur, noise,
            random.Next(), Rotated: index % 2 == 1);
    }

    /// <summary>Renders line <paramref name="index"/>.</summary>
    public TextLine Line(int index) => new(index, Spec(index), Render(Spec(index)));

    /// <summary>Renders any spec with this set's fonts (for example a line's spec with <c>Rotated</c> flipped).</summary>
    public RgbImage Render(TextLineSpec spec) => TextLineRenderer.Render(spec, _fonts);

    public IEnumerable<TextLine> Lines()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return Line(i);
        }
    }

    /// <summary>The lines through <see cref="PpocrClsPreset"/> as [B, 3, 48, 192] batches (the last may be smaller) with their labels.</summary>
    public IEnumerable<TextBatch> Batches(int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var preset = new PpocrClsPreset();
        for (var start = 0; start < Count; start += batchSize)
        {
            var lines = Enumerable.Range(start, Math.Min(batchSize, Count - start)).Select(Line).ToList();
            yield return new TextBatch(
                ImagePreset.Batch(lines.Select(l => preset.ToTensor(l.Image)).ToList()),
                lines.Select(l => l.Label).ToArray());
        }
    }

    /// <summary>Writes every line as text-NNNNN-ANGLE.png into <paramref name="folder"/> (atomic writes) and returns the paths.</summary>
    public IReadOnlyList<string> WritePngs(string folder)
    {
        Directory.CreateDirectory(folder);
        var paths = new List<string>(Count);
        foreach (var line in Lines())
        {
            var path = Path.Combine(folder, $"text-{line.Index:D5}-{(line.Spec.Rotated ? 180 : 0)}.png");
            AtomicFile.WriteAllBytes(path, ImageFiles.EncodePng(line.Image));
            paths.Add(path);
        }
        return paths;
    }

    public void Dispose() => _fonts.Dispose();

    /// <summary>
    /// Appends words while they fit in <paramref name="maxWidth"/> and stops after twelve drawn words did not fit,
    /// so most lines hold two or three words. The first word is redrawn until it fits; a quarter of the lines start with a capital and a fifth
    /// end with a full stop, where that still fits.
    /// </summary>
    private static string Words(Random random, SKFont font, double maxWidth)
    {
        // Over a quarter of the vocabulary is three letters or shorter, so twelve misses nearly always mean there
        // is no room left for any word, not bad luck.
        const int FirstWordAttempts = 30;
        const int MissesBeforeStop = 12;
        var words = CommonWords.All;
        var text = words[random.Next(words.Count)];
        for (var attempt = 0; attempt < FirstWordAttempts && font.MeasureText(text) > maxWidth; attempt++)
        {
            text = words[random.Next(words.Count)];
        }
        for (var misses = 0; misses < MissesBeforeStop;)
        {
            var candidate = text + " " + words[random.Next(words.Count)];
            if (font.MeasureText(candidate + ".") <= maxWidth)
            {
                text = candidate;
            }
            else
            {
                misses++;
            }
        }
        var capitalized = char.ToUpperInvariant(text[0]) + text[1..];
        if (random.NextDouble() < 0.25 && font.MeasureText(capitalized) <= maxWidth)
        {
            text = capitalized;
        }
        if (random.NextDouble() < 0.2 && font.MeasureText(text + ".") <= maxWidth)
        {
            text += ".";
        }
        return text;
    }

    private static double Uniform(Random random, double low, double high) => low + (high - low) * random.NextDouble();

    /// <summary>A channel near <paramref name="center"/> (± <paramref name="spread"/>), kept at or above <paramref name="floor"/>.</summary>
    private static byte Channel(Random random, int center, int spread, int floor) =>
        (byte)Math.Clamp(center + random.Next(-spread, spread + 1), floor, 255);

    /// <summary>SplitMix64 finalizer of (seed, index): neighbouring seeds and indices give unrelated generators.</summary>
    private static int LineSeed(int seed, int index)
    {
        var z = ((ulong)(uint)seed << 32 | (uint)index) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (int)(z & int.MaxValue);
    }
}
