using System.Globalization;
using SharpQuant.Analysis;
using SharpQuant.Models;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Runtime;

namespace SharpQuant.Bench;

/// <summary>
/// Issue "Numbers that hold on every machine", point 6: empirical bias correction against calibration, measured side
/// by side in one run on the default ResNet18 with the batches <c>sharpquant quantize --split calibration</c> makes
/// from the shared photos (5 crops of each calibration photo and their mirror images, batches of 8), target at most
/// 2× the calibration time. Then the fast form against the sequential reference (one pass per layer) on a
/// simulation calibrated the same way: the corrections, and the embedding SQNR against the float model on the
/// evaluation crops of the other photos.
/// </summary>
public sealed class BiasCorrectionBenchmark : IBenchmark
{
    /// <summary>The CLI's default calibration batch size and crop seed (<c>quantize --batch</c>, <c>--seed</c>).</summary>
    private const int BatchSize = 8;
    private const int Seed = 1;

    private const int Rounds = 5;
    private const double TargetRatio = 2.0;

    /// <summary>Set (to anything) to measure the time only, without the minutes the sequential reference takes.</summary>
    private const string TimeOnly = "SHARPQUANT_BENCH_TIME_ONLY";

    /// <summary>Passes of the fast form shown against the sequential one (the default among them).</summary>
    private static readonly (int Passes, int EarlyStride)[] ComparedPasses = [(1, 1), (2, 1), (2, 2), (3, 1), (3, 2)];

    public string Name => "bias-correction";

    public string Description => "empirical bias correction vs calibration time on ResNet18 (target <= 2x), fast vs sequential corrections and SQNR";

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
        var report = new Report(output);
        report.Title("bias correction", string.Create(c,
            $"ResNet18, {calibration.Sum(b => b.Shape[0])} calibration samples in {calibration.Count} batches of {BatchSize}, {evaluation.Sum(b => b.Shape[0])} evaluation samples"));
        report.Machine();

        // (1) Time: calibration then bias correction of the same simulation, each round from a fresh one.
        report.Section(string.Create(c, $"time, w8a8 per-channel (the CLI's defaults), {Rounds} rounds, each: prepare, calibrate, correct"));
        var calibrate = new List<double>();
        var correct = new List<double>();
        for (var r = 0; r < Rounds; r++)
        {
            Timing.Settle();
            var sim = QuantSim.Prepare(graph, CliQConfig.Mapping(IntegerFormat.ForThisCpu()));
            calibrate.Add(Timing.TimeMs(() => sim.Calibrate(calibration)));
            Timing.Settle();
            correct.Add(Timing.TimeMs(() => BiasCorrection.Empirical(sim, calibration)));
        }
        var calibrateTime = new Measurement(calibrate);
        var correctTime = new Measurement(correct);
        report.Figure("calibration (QuantSim.Calibrate)", calibrateTime);
        report.Figure(string.Create(c, $"bias correction ({BiasCorrection.DefaultEmpiricalPasses} passes)"), correctTime);
        var ratio = Timing.PairedRatioMedian(correctTime, calibrateTime);
        report.Line("correction / calibration (paired median)", string.Create(c, $"{ratio:F2}x"), string.Create(c, $"target <= {TargetRatio:F1}x: {(ratio <= TargetRatio ? "PASS" : "MISS")}"));
        report.LoadAverage("load average after");
        if (Environment.GetEnvironmentVariable(TimeOnly) is not null)
        {
            return;
        }

        // (2) Fast against sequential, per weight granularity.
        using var floatRun = new GraphExecutor(graph);
        var floatOutputs = evaluation.Select(floatRun.Run).ToList();
        foreach (var perChannel in new[] { true, false })
        {
            report.Section($"fast vs sequential, w8a8 {(perChannel ? "per-channel" : "per-tensor")} weights");
            var uncorrected = Calibrated(graph, perChannel, calibration);
            var originalBiases = Biases(uncorrected);
            report.Line("embedding SQNR, no correction", Db(Sqnr(uncorrected, evaluation, floatOutputs)));

            var sequential = Calibrated(graph, perChannel, calibration);
            var sequentialMs = Timing.TimeMs(() => BiasCorrection.EmpiricalSequential(sequential, calibration));
            var sequentialShifts = Shifts(originalBiases, Biases(sequential));
            report.Line("sequential: time", string.Create(c, $"{sequentialMs / 1000:F1} s"), string.Create(c, $"{sequentialMs / calibrateTime.MedianMs:F1}x the calibration median"));
            report.Line("sequential: embedding SQNR", Db(Sqnr(sequential, evaluation, floatOutputs)));
            foreach (var (passes, stride) in ComparedPasses)
            {
                var fast = Calibrated(graph, perChannel, calibration);
                var fastMs = Timing.TimeMs(() => BiasCorrection.Empirical(fast, calibration, passes: passes, earlyPassStride: stride));
                var (worstLayer, worst, overall) = Deviation(sequentialShifts, Shifts(originalBiases, Biases(fast)));
                var label = string.Create(c, $"{passes} pass{(passes == 1 ? "" : "es")}{(passes > 1 ? $", early stride {stride}" : "")}");
                report.Line($"{label}: time", string.Create(c, $"{fastMs / 1000:F1} s"), string.Create(c, $"{sequentialMs / fastMs:F0}x faster than sequential"));
                report.Line($"{label}: shift deviation", string.Create(c, $"{overall:P3}"), "‖fast − sequential‖ / ‖sequential‖ over every bias");
                report.Line($"{label}: worst layer", string.Create(c, $"{worst:P3}"), worstLayer);
                report.Line($"{label}: embedding SQNR", Db(Sqnr(fast, evaluation, floatOutputs)));
            }
        }
    }

    private static QuantSim Calibrated(Graph graph, bool perChannel, IReadOnlyList<Tensor> batches) =>
        CliQConfig.Calibrated(graph, batches, IntegerFormat.ForThisCpu(), perChannel);

    /// <summary>Every corrected layer's bias, by module name (zeros where a layer has none yet).</summary>
    private static Dictionary<string, float[]> Biases(QuantSim sim) =>
        sim.Graph.Nodes.Where(n => LinearLayer.IsLinearOp(n) && n.OpType != "MatMul" && LinearLayer.WeightValue(n) is not null)
            .ToDictionary(n => n.ModuleName, n => LinearLayer.Create(n).BiasOrZeros(), StringComparer.Ordinal);

    private static Dictionary<string, double[]> Shifts(Dictionary<string, float[]> before, Dictionary<string, float[]> after) =>
        before.ToDictionary(kv => kv.Key, kv => kv.Value.Zip(after[kv.Key], (b, a) => (double)b - a).ToArray(), StringComparer.Ordinal);

    /// <summary>The relative L2 deviation of the fast shifts from the sequential ones: the worst layer's and over all layers.</summary>
    private static (string Layer, double Worst, double Overall) Deviation(Dictionary<string, double[]> reference, Dictionary<string, double[]> candidate)
    {
        double allNoise = 0, allSignal = 0, worst = 0;
        var worstLayer = "";
        foreach (var (layer, r) in reference)
        {
            var f = candidate[layer];
            double noise = 0, signal = 0;
            for (var i = 0; i < r.Length; i++)
            {
                noise += (f[i] - r[i]) * (f[i] - r[i]);
                signal += r[i] * r[i];
            }
            allNoise += noise;
            allSignal += signal;
            var relative = signal > 0 ? Math.Sqrt(noise / signal) : 0;
            if (relative > worst)
            {
                (worst, worstLayer) = (relative, layer);
            }
        }
        return (worstLayer, worst, Math.Sqrt(allNoise / allSignal));
    }

    private static double Sqnr(QuantSim sim, List<Tensor> evaluation, List<Tensor> floatOutputs)
    {
        using var run = sim.CreateExecutor();
        var fidelity = new FidelityAccumulator();
        for (var i = 0; i < evaluation.Count; i++)
        {
            fidelity.Add(floatOutputs[i], run.Run(evaluation[i]));
        }
        return fidelity.Report().SqnrDb;
    }

    private static string Db(double db) => string.Create(CultureInfo.InvariantCulture, $"{db:F3} dB");
}
