namespace SharpQuant.Data;

/// <summary>
/// Streams a folder of images as batches for a model: decoded, preprocessed by a preset, stacked, one batch at a
/// time so memory stays bounded however many images there are. Files that do not decode are skipped and listed
/// in <see cref="Skipped"/>; a folder without any usable image is an error.
/// </summary>
public sealed class ImageBatches
{
    private readonly List<string> _skipped = [];

    public ImageBatches(string folder, ImagePreset preset, int batchSize, bool includeFlips = false)
    {
        Files = ImageFiles.List(folder);
        if (Files.Count == 0)
        {
            throw new SharpQuantException($"image folder '{folder}' holds no JPEG, PNG, BMP or WebP files");
        }
        Preset = preset;
        BatchSize = Math.Max(1, batchSize);
        IncludeFlips = includeFlips;
    }

    public IReadOnlyList<string> Files { get; }
    public ImagePreset Preset { get; }
    public int BatchSize { get; }

    /// <summary>Each image also enters mirrored left to right, doubling a small calibration set.</summary>
    public bool IncludeFlips { get; }

    public IReadOnlyList<string> Skipped => _skipped;

    /// <summary>Samples per pass (before skipped files are known).</summary>
    public int ExpectedSamples => Files.Count * (IncludeFlips ? 2 : 1);

    public int ExpectedBatches => (ExpectedSamples + BatchSize - 1) / BatchSize;

    public IEnumerable<Tensor> Batches()
    {
        _skipped.Clear();
        var pending = new List<Tensor>(BatchSize);
        var produced = 0;
        foreach (var file in Files)
        {
            RgbImage image;
            try
            {
                image = ImageFiles.Decode(file);
            }
            catch (SharpQuantException)
            {
                _skipped.Add(file);
                continue;
            }
            foreach (var variant in IncludeFlips ? [image, ImageFiles.FlipHorizontal(image)] : new[] { image })
            {
                pending.Add(Preset.ToTensor(variant));
                if (pending.Count == BatchSize)
                {
                    produced++;
                    yield return ImagePreset.Batch(pending);
                    pending.Clear();
                }
            }
        }
        if (pending.Count > 0)
        {
            produced++;
            yield return ImagePreset.Batch(pending);
        }
        if (produced == 0)
        {
            throw new SharpQuantException($"none of the {Files.Count} image files could be decoded ({string.Join(", ", _skipped.Take(3).Select(Path.GetFileName))}{(_skipped.Count > 3 ? ", ..." : "")})");
        }
    }
}

/// <summary>The named presets.</summary>
public static class ImagePresets
{
    public static readonly IReadOnlyList<string> Names = ["resnet18", "ppocr-cls"];

    public static ImagePreset Create(string name) => name switch
    {
        "resnet18" => new ResNet18Preset(),
        "ppocr-cls" => new PpocrClsPreset(),
        _ => throw new SharpQuantException($"unknown preset '{name}' (use {string.Join(", ", Names)})"),
    };
}
