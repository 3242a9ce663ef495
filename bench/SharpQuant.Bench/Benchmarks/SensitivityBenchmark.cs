using System.Globalization;
using SharpQuant.Analysis;
using SharpQuant.Autodiff;
using SharpQuant.Data;
using SharpQuant.Models;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Plots;
using SharpQuant.Quantization;

namespace SharpQuant.Bench;

/// <summary>
/// Issue #7's sensitivity target: every sensitivity plot of ResNet18 (BatchNorm folded, int8 per-channel weights,
/// uint8 entropy activations, calibrated on the shared photos) — backpropagate the output over the photos, bin values
/// and gradients for every weight and activation quantizer, draw every figure — in under 30 s. Side by side, interleaved:
/// the plain histograms of the same quantizers on the same photos (a forward run with taps, no gradients, same number
/// of figures). Calibration is done once, outside the timings.
/// </summary>
public sealed class SensitivityBenchmark : IBenchmark
{
    private const double TargetMs = 30_000;

    /// <summary>Photos backpropagated: the tutorial backpropagates one; four show the per-batch cost without a long run.</summary>
    private const int Photos = 4;

    public string Name => "sensitivity";

    public string Description => "all sensitivity plots of ResNet18 on 4 photos (target < 30 s), beside the plain histograms";

    public void Run(TextWriter output)
    {
        if (SensitivitySetup.Photos(Photos, output) is not { } batch)
        {
            return;
        }
        var sim = SensitivitySetup.CalibratedResNet18(batch);
        var folder = Path.Combine(Path.GetTempPath(), "sharpquant-bench-sensitivity-" + Guid.NewGuid().ToString("N"));
        try
        {
            var sensitivityFiles = 0;
            var plainFiles = 0;
            var (sensitivity, plain) = Timing.Interleave(
                () => sensitivityFiles = ModelFigures.WriteSensitivityHistograms(sim, [batch], Path.Combine(folder, "sensitivity"), SeedKind.Sum).Count,
                () =>
                {
                    var activations = ActivationHistograms.Collect(sim, [batch]);
                    plainFiles = ModelFigures.WriteWeightHistograms(sim, Path.Combine(folder, "plain")).Count
                        + ModelFigures.WriteActivationHistograms(activations, Path.Combine(folder, "plain")).Count;
                },
                warmups: 1, rounds: 3);
            var analysis = Timing.Measure(() => SensitivityAnalysis.Run(sim, [batch], SeedKind.Sum), warmups: 0, runs: 3);
            var collect = Timing.Measure(() => { ActivationHistograms.Collect(sim, [batch]); WeightHistograms.Of(sim); }, warmups: 0, runs: 3);

            var c = CultureInfo.InvariantCulture;
            var quantizers = sim.Quantizers.Count;
            output.WriteLine(string.Create(c, $"sensitivity: ResNet18 (BatchNorm folded), int8 per-channel weights, uint8 entropy activations, {Photos} photos in one batch, {quantizers} quantizers, {Environment.ProcessorCount} cores"));
            output.WriteLine(string.Create(c, $"  sensitivity plots (gradient graph + runs + binning + drawing)  median {sensitivity.MedianMs,9:F1} ms   min {sensitivity.MinMs,9:F1} ms   {sensitivityFiles} files"));
            output.WriteLine(string.Create(c, $"  plain histograms (tapped forward + binning + drawing)         median {plain.MedianMs,9:F1} ms   min {plain.MinMs,9:F1} ms   {plainFiles} files"));
            output.WriteLine(string.Create(c, $"  sensitivity / plain, paired rounds                             {Timing.PairedRatioMedian(sensitivity, plain):F2}×"));
            output.WriteLine(string.Create(c, $"  sensitivity analysis only (build gradient graph, run, bin)     median {analysis.MedianMs,9:F1} ms"));
            output.WriteLine(string.Create(c, $"  plain histograms only (tapped forward, bin)                   median {collect.MedianMs,9:F1} ms"));
            output.WriteLine(string.Create(c, $"  target < {TargetMs / 1000:F0} s (all sensitivity plots): {(sensitivity.MedianMs < TargetMs ? "PASS" : "MISS")}"));
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }
}
