using SharpQuant.Data;

namespace SharpQuant.Bench;

/// <summary>
/// The shared photos as `sharpquant quantize --split calibration` and `evaluate --split evaluation` see them for the
/// default ResNet18: 5 deterministic crops of each photo and their mirror images, alternate photos (by name)
/// calibrating and evaluating, in batches. Benches that compare recipes on the same samples load them here.
/// </summary>
public sealed record SharedPhotoSplit(List<Tensor> Calibration, List<Tensor> Evaluation, string Description)
{
    public static string Folder() =>
        Path.GetFullPath(Path.Combine(PpocrResultsBenchmark.RepositoryRoot(), "..", "shared", "data", "images"));

    /// <summary>The split, or null (with a "skipped" line) when the shared photos are not there.</summary>
    public static SharedPhotoSplit? Load(TextWriter output, int batchSize, int seed = 1)
    {
        var folder = Folder();
        if (!Directory.Exists(folder))
        {
            output.WriteLine($"skipped: {folder} not found");
            return null;
        }
        using var preset = new ResNet18Preset();
        var plan = new CropPlan(seed);
        var calibration = new ImageBatches(folder, preset, batchSize, plan, ImageSet.Calibration);
        var calibrationBatches = calibration.Batches().ToList();
        var evaluation = new ImageBatches(folder, preset, batchSize, plan, ImageSet.Evaluation);
        var evaluationBatches = evaluation.Batches().ToList();
        return new SharedPhotoSplit(calibrationBatches, evaluationBatches, $"calibration: {calibration.Describe()}; evaluation: {evaluation.Describe()}");
    }
}
