namespace SharpQuant.Data;

/// <summary>
/// Splits a folder's images into a calibration set and a disjoint evaluation set. The rule: the usable files are
/// sorted by name (ordinal), the first, third, fifth … go to calibration and the second, fourth … to evaluation,
/// and every <see cref="CropPlan"/> variant of an image goes where its image goes. Whole images are split, not
/// crops, so no evaluation sample shares pixels with a calibration sample. With nine photos: 5 calibration images
/// and 4 evaluation images; 5 crops and their mirror images give 50 and 40 samples.
/// </summary>
public sealed class ImageSplit
{
    public ImageSplit(IEnumerable<string> files, CropPlan plan)
    {
        Files = files.Order(StringComparer.Ordinal).ToList();
        Plan = plan;
    }

    /// <summary>All files, sorted by name.</summary>
    public IReadOnlyList<string> Files { get; }

    public CropPlan Plan { get; }

    /// <summary>The set of the file at <paramref name="position"/> in name order.</summary>
    public static ImageSet SetOf(int position) => position % 2 == 0 ? ImageSet.Calibration : ImageSet.Evaluation;

    public IReadOnlyList<string> FilesIn(ImageSet set) =>
        set == ImageSet.All ? Files : Files.Where((_, i) => SetOf(i) == set).ToList();

    public IReadOnlyList<ImageVariant> Variants(ImageSet set) => FilesIn(set).SelectMany(Plan.VariantsOf).ToList();

    /// <summary>The counts every report states, e.g. "9 images, 5 crops each with mirror images (10 variants per image): calibration 5 images / 50 variants, evaluation 4 images / 40 variants".</summary>
    public string Describe() =>
        $"{Files.Count} image{(Files.Count == 1 ? "" : "s")}, {CropPlan.CropsPerImage} crops each{(Plan.IncludeFlips ? " with mirror images" : "")} " +
        $"({Plan.VariantsPerImage} variants per image, seed {Plan.Seed}): " +
        $"calibration {FilesIn(ImageSet.Calibration).Count} images / {FilesIn(ImageSet.Calibration).Count * Plan.VariantsPerImage} variants, " +
        $"evaluation {FilesIn(ImageSet.Evaluation).Count} images / {FilesIn(ImageSet.Evaluation).Count * Plan.VariantsPerImage} variants";
}
