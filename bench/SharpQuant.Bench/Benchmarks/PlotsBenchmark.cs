using System.Globalization;
using SharpQuant.Analysis;
using SharpQuant.Models;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Plots;
using SharpQuant.Quantization;

namespace SharpQuant.Bench;

/// <summary>
/// Issue #6's target: compute and draw every weight histogram of ResNet18 (BatchNorm folded, int8 per-channel
/// weights: 11 M values, one PNG per layer) in under 10 s. Also the histograms alone (the streaming binning), and
/// every layer's per-output-channel boxplots (box statistics and drawing).
/// </summary>
public sealed class PlotsBenchmark : IBenchmark
{
    private const double TargetMs = 10_000;

    public string Name => "plots";

    public string Description => "compute + draw every weight histogram of ResNet18 (target < 10 s), and all boxplots";

    public void Run(TextWriter output)
    {
        var graph = new FoldBatchNorm().Run(OnnxModel.Load(DefaultModels.ResNet18Path)).Graph;
        var sim = QuantSim.Prepare(graph, QConfigMapping.Default());
        var values = sim.Quantizers.Where(q => q.Kind == QuantizerKind.Weight).Sum(q => q.Input.ConstantValue!.ElementCount);
        var folder = Path.Combine(Path.GetTempPath(), "sharpquant-bench-plots-" + Guid.NewGuid().ToString("N"));
        try
        {
            var files = 0;
            var boxFiles = 0;
            var compute = Timing.Measure(() => WeightHistograms.Of(sim), warmups: 1, runs: 5);
            var histograms = Timing.Measure(() => files = ModelFigures.WriteWeightHistograms(sim, folder).Count, warmups: 1, runs: 3);
            var boxStats = Timing.Measure(() => ChannelBoxStats.WeightedLayers(graph).Select(ChannelBoxStats.OfLayer).ToList(), warmups: 1, runs: 3);
            var boxplots = Timing.Measure(() => boxFiles = ModelFigures.WriteBoxplots(graph, folder, "ResNet18").Count, warmups: 1, runs: 3);
            var bytes = Directory.GetFiles(folder, "*.png").Sum(f => new FileInfo(f).Length);

            var c = CultureInfo.InvariantCulture;
            output.WriteLine(string.Create(c, $"plots: ResNet18 (BatchNorm folded), int8 per-channel weights, {values:N0} weight values, {Environment.ProcessorCount} cores"));
            output.WriteLine(string.Create(c, $"  weight histograms, compute only       median {compute.MedianMs,9:F1} ms   min {compute.MinMs,9:F1} ms   ({values / compute.MedianMs / 1000:F0} M values/s)"));
            output.WriteLine(string.Create(c, $"  weight histograms, compute + draw     median {histograms.MedianMs,9:F1} ms   min {histograms.MinMs,9:F1} ms   {files} files"));
            output.WriteLine(string.Create(c, $"  boxplots, statistics only             median {boxStats.MedianMs,9:F1} ms"));
            output.WriteLine(string.Create(c, $"  boxplots, statistics + draw           median {boxplots.MedianMs,9:F1} ms   min {boxplots.MinMs,9:F1} ms   {boxFiles} files"));
            output.WriteLine(string.Create(c, $"  {files + boxFiles} PNGs, {bytes / 1048576.0:F1} MiB"));
            output.WriteLine(string.Create(c, $"  target < {TargetMs / 1000:F0} s (weight histograms, compute + draw): {(histograms.MedianMs < TargetMs ? "PASS" : "MISS")}"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
