using System.Globalization;
using SharpQuant.Models;
using SharpQuant.Onnx;
using SharpQuant.Passes;

namespace SharpQuant.Bench;

/// <summary>
/// FindEqualizationSets + EqualizeCrossLayer on the BatchNorm-folded default ResNet18 (issue #3's target: under
/// 50 ms; the `pytorch` bench times PyTorch's equalize beside it on the same weights).
/// Measured both as the whole pass (which first copies the graph, by the functional pass contract) and as the
/// discovery + equalization time the pass reports, with the per-set spread reduction.
/// </summary>
public sealed class EqualizationBenchmark : IBenchmark
{
    private const double TargetMs = 50;

    public string Name => "equalize";

    public string Description => "find equalization sets + cross-layer equalization on folded ResNet18 (target < 50 ms)";

    public void Run(TextWriter output)
    {
        var folded = new FoldBatchNorm().Run(OnnxModel.Load(DefaultModels.ResNet18Path)).Graph;
        var pass = new EqualizeCrossLayer();
        EqualizeReport? last = null;
        var findOnly = Timing.Measure(() => EqualizationSetFinder.Find(folded), warmups: 3, runs: 15);
        var whole = Timing.Measure(() => last = pass.Run(folded).Report, warmups: 3, runs: 15);
        var inner = new List<double>();
        for (var i = 0; i < 15; i++)
        {
            inner.Add(pass.Run(folded).Report.Elapsed.TotalMilliseconds);
        }
        var reported = new Measurement(inner);
        var clone = Timing.Measure(() => folded.Clone(), warmups: 2, runs: 15);

        var c = CultureInfo.InvariantCulture;
        output.WriteLine("equalize: ResNet18 (BatchNorm folded), max-abs ranges, threshold 1e-4");
        output.WriteLine(string.Create(c, $"  find sets only                 median {findOnly.MedianMs,8:F2} ms   min {findOnly.MinMs,8:F2} ms"));
        output.WriteLine(string.Create(c, $"  find + equalize (pass timer)   median {reported.MedianMs,8:F2} ms   min {reported.MinMs,8:F2} ms"));
        output.WriteLine(string.Create(c, $"  graph copy (pass contract)     median {clone.MedianMs,8:F2} ms"));
        output.WriteLine(string.Create(c, $"  whole pass incl. copy          median {whole.MedianMs,8:F2} ms   min {whole.MinMs,8:F2} ms"));
        output.WriteLine(string.Create(c, $"  sweeps {last!.Sweeps}, final change {last.FinalChange:E2}, converged {last.Converged}"));
        output.WriteLine("  PyTorch's equalize on the same weights, side by side: run the 'pytorch' bench");
        output.WriteLine(string.Create(c, $"  target < {TargetMs} ms (find + equalize): {(reported.MedianMs < TargetMs ? "PASS" : "MISS")}"));
        output.WriteLine("  spread (largest/smallest per-output-channel range) before → after:");
        foreach (var set in last.Sets)
        {
            foreach (var s in set.Spreads)
            {
                output.WriteLine(string.Create(c, $"    {s.Layer,-22} {s.Before,7:F1} → {s.After,6:F1}  ({s.Before / s.After:F2}x)"));
            }
        }
    }
}
