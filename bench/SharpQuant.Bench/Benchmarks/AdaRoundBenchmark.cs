using System.Globalization;
using SharpQuant.Analysis;
using SharpQuant.Models;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Quantization.AdaRound;
using SharpQuant.Runtime;

namespace SharpQuant.Bench;

/// <summary>
/// Issue 18 (AdaRound), point 4: the default ResNet18 with 4-bit per-channel weights and 8-bit activations,
/// calibrated on the shared photos' calibration split (the crops `quantize --split calibration` makes, batches of 8),
/// evaluated on the evaluation split: embedding SQNR and cosine for nearest rounding and for AdaRound (target
/// ≥ 6 dB better), per-layer reconstruction loss and time, and the total time (target under 10 minutes).
/// <c>SHARPQUANT_ADAROUND_ITERATIONS</c>, <c>SHARPQUANT_ADAROUND_BATCH</c> and <c>SHARPQUANT_ADAROUND_TARGETS</c>
/// (SameInputs, FloatModel) override the defaults.
/// </summary>
public sealed class AdaRoundBenchmark : IBenchmark
{
    private const int BatchSize = 8;
    private const int Seed = 1;
    private const double TargetGainDb = 6;
    private const double TargetMinutes = 10;

    public string Name => "adaround";

    public string Description => "AdaRound on ResNet18 w4 per-channel a8: SQNR vs nearest rounding (target +6 dB), time per layer and total (target < 10 min)";

    public void Run(TextWriter output)
    {
        var c = CultureInfo.InvariantCulture;
        if (SharedPhotoSplit.Load(output, BatchSize, Seed) is not { } split)
        {
            return;
        }
        var (calibration, evaluation, _) = split;
        var graph = OnnxModel.Load(DefaultModels.ResNet18Path);
        graph.MakeBatchDynamic();
        graph = graph.FoldBatchNorm();
        var options = new AdaRoundOptions();
        if (Environment.GetEnvironmentVariable("SHARPQUANT_ADAROUND_ITERATIONS") is { } iterations)
        {
            options = options with { Iterations = int.Parse(iterations, c) };
        }
        if (Environment.GetEnvironmentVariable("SHARPQUANT_ADAROUND_BATCH") is { } batch)
        {
            options = options with { BatchSize = int.Parse(batch, c) };
        }
        if (Environment.GetEnvironmentVariable("SHARPQUANT_ADAROUND_TARGETS") is { } targets)
        {
            options = options with { Targets = Enum.Parse<AdaRoundTargets>(targets, ignoreCase: true) };
        }
        var report = new Report(output);
        report.Title("adaround", string.Create(c,
            $"ResNet18 w4 per-channel a8, {calibration.Sum(b => b.Shape[0])} calibration samples, {evaluation.Sum(b => b.Shape[0])} evaluation samples; {options.Iterations} iterations per layer, batch {options.BatchSize}, targets {options.Targets}, λ {options.Lambda}, lr {options.LearningRate}"));
        report.Machine();

        using var floatRun = new GraphExecutor(graph);
        var floatOutputs = evaluation.Select(floatRun.Run).ToList();

        var sim = Calibrated(graph, calibration);
        var nearest = Fidelity(sim, evaluation, floatOutputs);
        report.Section("nearest rounding");
        report.Line("embedding SQNR", Db(nearest.SqnrDb));
        report.Line("mean cosine", string.Create(c, $"{nearest.MeanCosine:F5}"));

        report.Section("AdaRound, per layer (reconstruction loss on the calibration samples)");
        var result = AdaRounder.Run(sim, calibration, options, new Progress(report));
        var ada = Fidelity(sim, evaluation, floatOutputs);
        report.Section("AdaRound");
        report.Line("embedding SQNR", Db(ada.SqnrDb), string.Create(c, $"{ada.SqnrDb - nearest.SqnrDb:+0.00;-0.00} dB, target ≥ +{TargetGainDb} dB: {(ada.SqnrDb - nearest.SqnrDb >= TargetGainDb ? "PASS" : "MISS")}"));
        report.Line("mean cosine", string.Create(c, $"{ada.MeanCosine:F5}"));
        var minutes = result.Elapsed.TotalMinutes;
        report.Line("total time", string.Create(c, $"{result.Elapsed.TotalSeconds:F1} s"), string.Create(c, $"target < {TargetMinutes} min: {(minutes < TargetMinutes ? "PASS" : "MISS")}"));
        report.Line("layers", string.Create(c, $"{result.Layers.Count} rounded, {result.Layers.Count(l => l.KeptNearest)} kept nearest, {result.Skipped.Count} skipped"));
        report.LoadAverage("load average after");
    }

    private static QuantSim Calibrated(Graph graph, IReadOnlyList<Tensor> batches)
    {
        var mapping = new QConfigMapping().SetGlobal(new QConfig(
            new QuantSpec { Bits = 8, Signed = false, Scheme = QuantScheme.Affine, Observer = ObserverKind.Entropy },
            new QuantSpec { Bits = 4, Signed = true, Scheme = QuantScheme.Symmetric, Axis = 0, Observer = ObserverKind.MinMax }));
        var sim = QuantSim.Prepare(graph, mapping);
        sim.Calibrate(batches);
        return sim;
    }

    private static FidelityReport Fidelity(QuantSim sim, List<Tensor> evaluation, List<Tensor> floatOutputs)
    {
        using var run = sim.CreateExecutor();
        var fidelity = new FidelityAccumulator();
        for (var i = 0; i < evaluation.Count; i++)
        {
            fidelity.Add(floatOutputs[i], run.Run(evaluation[i]));
        }
        return fidelity.Report();
    }

    private static string Db(double db) => string.Create(CultureInfo.InvariantCulture, $"{db:F3} dB");

    /// <summary>One row per layer as it finishes (synchronously: the rows come in order).</summary>
    private sealed class Progress(Report report) : IProgress<AdaRoundProgress>
    {
        public void Report(AdaRoundProgress p)
        {
            var l = p.Result;
            report.Line(string.Create(CultureInfo.InvariantCulture, $"{p.Layer,2}/{p.Layers} {l.Layer} ({l.OpType}, {l.Weights} weights)"),
                string.Create(CultureInfo.InvariantCulture, $"{l.NearestLoss:G4} → {l.AdaRoundLoss:G4}"),
                string.Create(CultureInfo.InvariantCulture, $"{l.Flipped} flipped{(l.KeptNearest ? ", kept nearest" : "")}, {l.Elapsed.TotalSeconds:F1} s"));
        }
    }
}
