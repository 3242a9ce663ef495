namespace SharpQuant.Data;

/// <summary>
/// Streams a folder of images as batches for a model: decoded, preprocessed by a preset, stacked, one batch at a
/// time so memory stays bounded however many images there are. Either every image whole (and optionally its mirror
/// image), or one set of an <see cref="ImageSplit"/>: the <see cref="CropPlan"/> variants of the calibration or the
/// evaluation images. Files that do not decode (not an image, truncated, corrupt, more pixels than
/// <see cref="ImageFiles.MaxPixels"/>) are skipped and listed in <see cref="SkippedImages"/> with the reason; a folder
/// without any usable image is an error.
/// </summary>
public sealed class ImageBatches
{
    private readonly List<SkippedImage> _skipped = [];
    private readonly List<string> _samples = [];
    private int _images;
    private readonly IReadOnlyList<SkippedImage> _undecodable = [];

    /// <summary>Every image whole, in name order, and with <paramref name="includeFlips"/> also mirrored.</summary>
    public ImageBatches(string folder, ImagePreset preset, int batchSize, bool includeFlips = false)
    {
        Folder = folder;
        Files = ImageFiles.List(folder);
        if (Files.Count == 0)
        {
            throw new SharpQuantException($"image folder '{folder}' holds no JPEG, PNG, BMP or WebP files");
        }
        Preset = preset;
        BatchSize = Math.Max(1, batchSize);
        IncludeFlips = includeFlips;
    }

    /// <summary>
    /// The variants of one set of the folder's split. Files whose header does not decode are left out before the
    /// split (and listed in <see cref="Skipped"/>), so a stray non-image does not shift the alternation.
    /// </summary>
    public ImageBatches(string folder, ImagePreset preset, int batchSize, CropPlan plan, ImageSet set)
        : this(folder, preset, batchSize, plan.IncludeFlips)
    {
        _undecodable = Files.Select(f => (File: f, Problem: ImageFiles.HeaderProblem(f)))
            .Where(f => f.Problem is not null)
            .Select(f => new SkippedImage(f.File, f.Problem!))
            .ToList();
        var usable = Files.Except(_undecodable.Select(s => s.File)).ToList();
        if (usable.Count == 0)
        {
            throw new SharpQuantException($"none of the {Files.Count} image files in '{folder}' could be decoded ({Names(_undecodable)})");
        }
        Split = new ImageSplit(usable, plan);
        Set = set;
        if (Split.FilesIn(set).Count == 0)
        {
            throw new SharpQuantException(
                $"the {set.ToString().ToLowerInvariant()} set of '{folder}' is empty: {Split.Describe()}; it needs at least two usable images (or use all)");
        }
        _skipped.AddRange(_undecodable);
    }

    public string Folder { get; }
    public IReadOnlyList<string> Files { get; }
    public ImagePreset Preset { get; }
    public int BatchSize { get; }

    /// <summary>Each image (or crop) also enters mirrored left to right, doubling a small calibration set.</summary>
    public bool IncludeFlips { get; }

    /// <summary>The split when streaming crops of one set; null when streaming whole images.</summary>
    public ImageSplit? Split { get; }

    /// <summary>The set streamed with a split.</summary>
    public ImageSet? Set { get; }

    /// <summary>The files of the last pass that gave no sample.</summary>
    public IReadOnlyList<string> Skipped => _skipped.Select(s => s.File).ToList();

    /// <summary>The files of the last pass that gave no sample, each with the reason.</summary>
    public IReadOnlyList<SkippedImage> SkippedImages => _skipped;

    /// <summary>The names of the samples of the last pass, in batch order (file names, or <see cref="ImageVariant.Name"/>).</summary>
    public IReadOnlyList<string> Samples => _samples;

    /// <summary>The images that gave samples in the last pass (each gives one or more samples).</summary>
    public int Images => _images;

    /// <summary>Samples per pass (before files that fail to decode are known).</summary>
    public int ExpectedSamples => Split is { } split
        ? split.FilesIn(Set!.Value).Count * split.Plan.VariantsPerImage
        : Files.Count * (IncludeFlips ? 2 : 1);

    public int ExpectedBatches => (ExpectedSamples + BatchSize - 1) / BatchSize;

    /// <summary>What the last pass used, with the counts: images, crops per image and samples.</summary>
    public string Describe()
    {
        if (Split is { } split)
        {
            return $"{Set!.Value.ToString().ToLowerInvariant()} set, {_samples.Count} samples; split of {split.Describe()}";
        }
        return $"{_images} whole image{(_images == 1 ? "" : "s")}{(IncludeFlips ? " and their mirror images" : "")}, {_samples.Count} samples";
    }

    public IEnumerable<Tensor> Batches()
    {
        _skipped.Clear();
        _skipped.AddRange(_undecodable);
        _samples.Clear();
        _images = 0;
        var pending = new List<Tensor>(BatchSize);
        var files = Split is { } split ? split.FilesIn(Set!.Value) : Files;
        foreach (var file in files)
        {
            List<(string Name, Tensor Tensor)> samples;
            try
            {
                // All variants of a file are made before any enters a batch: a failure in the preset's resize
                // (an image too long for its aspect ratio) skips the whole file, as a failed decode does.
                var image = ImageFiles.Decode(file);
                samples = VariantsOf(file, image).Select(v => (v.Name, Preset.ToTensor(v.Image))).ToList();
            }
            catch (SharpQuantException e)
            {
                _skipped.Add(new SkippedImage(file, e.Message));
                continue;
            }
            _images++;
            foreach (var (name, tensor) in samples)
            {
                pending.Add(tensor);
                _samples.Add(name);
                if (pending.Count == BatchSize)
                {
                    yield return ImagePreset.Batch(pending);
                    pending.Clear();
                }
            }
        }
        if (pending.Count > 0)
        {
            yield return ImagePreset.Batch(pending);
        }
        if (_samples.Count == 0)
        {
            throw new SharpQuantException($"none of the {files.Count} image files could be decoded ({Names(_skipped)})");
        }
    }

    private IEnumerable<(string Name, RgbImage Image)> VariantsOf(string file, RgbImage image)
    {
        if (Split is { } split)
        {
            foreach (var variant in split.Plan.VariantsOf(file))
            {
                yield return (variant.Name, split.Plan.Apply(image, variant));
            }
            yield break;
        }
        var name = Path.GetFileName(file);
        yield return (name, image);
        if (IncludeFlips)
        {
            yield return (name + " [mirrored]", ImageFiles.FlipHorizontal(image));
        }
    }

    private static string Names(IReadOnlyList<SkippedImage> files) =>
        string.Join(", ", files.Take(3).Select(f => Path.GetFileName(f.File))) + (files.Count > 3 ? ", ..." : "");
}
