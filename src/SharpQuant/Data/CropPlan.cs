using System.Text;

namespace SharpQuant.Data;

/// <summary>
/// Deterministic square crops that turn one photo into several samples: the centre and the four corners, each a
/// square whose side is a fraction of the image's shorter side between <see cref="MinScale"/> and
/// <see cref="MaxScale"/>, and (with <see cref="IncludeFlips"/>) each crop again mirrored left to right. The
/// fraction of crop k of a file depends only on the seed, the file's name (not its folder) and k, so the same
/// seed gives the same pixels on every machine and adding files to a folder changes no other file's crops. The
/// preset then resizes each crop as it resizes a whole image.
/// </summary>
public sealed class CropPlan
{
    /// <summary>Centre and four corners.</summary>
    public const int CropsPerImage = 5;

    /// <summary>
    /// Crop sides relative to the shorter side: large enough that the object of a photo stays in view, small enough
    /// that the five crops differ (at 80 % the corner crops' centres lie 10 % of the shorter side from the middle).
    /// </summary>
    public const double MinScale = 0.80;
    public const double MaxScale = 0.90;

    public static readonly IReadOnlyList<string> PositionNames = ["centre", "top-left", "top-right", "bottom-left", "bottom-right"];

    public CropPlan(int seed, bool includeFlips = true)
    {
        Seed = seed;
        IncludeFlips = includeFlips;
    }

    public int Seed { get; }

    public bool IncludeFlips { get; }

    public int VariantsPerImage => CropsPerImage * (IncludeFlips ? 2 : 1);

    /// <summary>The side of crop <paramref name="crop"/> relative to the shorter side, in [<see cref="MinScale"/>, <see cref="MaxScale"/>).</summary>
    public double Scale(string file, int crop)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(crop);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(crop, CropsPerImage);
        var z = Mix(((ulong)(uint)Seed << 32) ^ NameHash(Path.GetFileName(file)) ^ (ulong)crop);
        // The top 53 bits as a double in [0, 1), the way Random.NextDouble spreads them.
        var u = (z >> 11) * (1.0 / (1UL << 53));
        return MinScale + (MaxScale - MinScale) * u;
    }

    /// <summary>The square of crop <paramref name="crop"/> in a <paramref name="width"/>×<paramref name="height"/> image.</summary>
    public (int Left, int Top, int Size) Box(string file, int crop, int width, int height)
    {
        var size = Math.Max(1, (int)Math.Round(Scale(file, crop) * Math.Min(width, height)));
        var (right, bottom) = (width - size, height - size);
        return crop switch
        {
            0 => (right / 2, bottom / 2, size),
            1 => (0, 0, size),
            2 => (right, 0, size),
            3 => (0, bottom, size),
            _ => (right, bottom, size),
        };
    }

    /// <summary>The variants of one file: each crop, followed by its mirror image when flips are included.</summary>
    public IEnumerable<ImageVariant> VariantsOf(string file)
    {
        for (var crop = 0; crop < CropsPerImage; crop++)
        {
            yield return new ImageVariant(file, crop, Flipped: false);
            if (IncludeFlips)
            {
                yield return new ImageVariant(file, crop, Flipped: true);
            }
        }
    }

    /// <summary>Cuts (and mirrors) the variant out of the decoded image.</summary>
    public RgbImage Apply(RgbImage image, ImageVariant variant)
    {
        var (left, top, size) = Box(variant.File, variant.Crop, image.Width, image.Height);
        var crop = ImageFiles.Crop(image, left, top, size, size);
        return variant.Flipped ? ImageFiles.FlipHorizontal(crop) : crop;
    }

    /// <summary>FNV-1a over the UTF-8 name: string.GetHashCode differs from process to process.</summary>
    private static ulong NameHash(string name)
    {
        const ulong OffsetBasis = 14695981039346656037UL;
        const ulong Prime = 1099511628211UL;
        var hash = OffsetBasis;
        foreach (var b in Encoding.UTF8.GetBytes(name))
        {
            hash = (hash ^ b) * Prime;
        }
        return hash;
    }

    /// <summary>SplitMix64's finalizer: nearby inputs give unrelated outputs.</summary>
    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
