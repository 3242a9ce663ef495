using System.Globalization;
using SharpQuant.Analysis;
using SharpQuant.Data;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Runtime;

namespace SharpQuant.Bench;

/// <summary>
/// Issue #5's ppocr-cls table: accuracy on rendered text lines (evaluation set: seed 1, 400 lines; calibration set:
/// seed 2, 64 lines, disjoint) for activations 8-bit per tensor (uint8 affine, min-max) and weights per tensor at
/// 8, 6, 5 and 4 bits (int symmetric, min-max): float, no CLE, CLE, CLE + bias absorption + empirical bias
/// correction, and per-channel weights without CLE. Needs ../shared/data (the model) and the DejaVu fonts.
/// </summary>
public sealed class PpocrResultsBenchmark : IBenchmark
{
    internal const int EvaluationSeed = 1;
    internal const int EvaluationLines = 400;
    internal const int CalibrationSeed = 2;
    internal const int CalibrationLines = 64;
    internal const int BatchSize = 16;

    public string Name => "results-ppocr";

    public string Description => "ppocr-cls accuracy table on rendered text: w8/6/5/4 a8, no CLE / CLE / CLE+BA+BC / per-channel";

    public void Run(TextWriter output)
    {
        var modelPath = ModelPath();
        if (!File.Exists(modelPath))
        {
            output.WriteLine($"skipped: {modelPath} not found");
            return;
        }
        var graph = OnnxModel.Load(modelPath);
        List<TextBatch> evaluation, calibration;
        using (var set = new TextOrientationDataset(EvaluationSeed, EvaluationLines))
        {
            evaluation = set.Batches(BatchSize).ToList();
        }
        using (var set = new TextOrientationDataset(CalibrationSeed, CalibrationLines))
        {
            calibration = set.Batches(BatchSize).ToList();
        }
        var calibrationImages = calibration.Select(b => b.Images).ToList();
        var folded = graph.FoldBatchNorm();
        var equalized = folded.Equalize();
        var c = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(c, $"ppocr-cls on rendered text lines: evaluation seed {EvaluationSeed} ({EvaluationLines} lines), calibration seed {CalibrationSeed} ({CalibrationLines} lines)"));
        output.WriteLine(string.Create(c, $"  float: {Accuracy(new GraphExecutor(graph), evaluation):F2} %"));
        output.WriteLine("  | weights | no CLE | CLE | CLE + BA + BC | per-channel |");
        output.WriteLine("  |---|---|---|---|---|");
        foreach (var bits in new[] { 8, 6, 5, 4 })
        {
            var noCle = Quantized(folded, bits, perChannel: false, calibrationImages, correct: false);
            var cle = Quantized(equalized, bits, perChannel: false, calibrationImages, correct: false);
            var absorbed = new AbsorbHighBias(new AbsorbHighBiasOptions
            {
                MeasuredMinima = PreActivationMinima.Measure(equalized, calibrationImages),
            }).Run(equalized).Graph;
            var full = Quantized(absorbed, bits, perChannel: false, calibrationImages, correct: true);
            var perChannel = Quantized(folded, bits, perChannel: true, calibrationImages, correct: false);
            output.WriteLine(string.Create(c,
                $"  | w{bits} per-tensor | {Accuracy(noCle, evaluation):F2} % | {Accuracy(cle, evaluation):F2} % | {Accuracy(full, evaluation):F2} % | {Accuracy(perChannel, evaluation):F2} % (per-channel) |"));
        }
    }

    private static GraphExecutor Quantized(Graph graph, int bits, bool perChannel, IReadOnlyList<Tensor> calibration, bool correct) =>
        Simulation(graph, bits, perChannel, calibration, correct).CreateExecutor();

    /// <summary>Activations uint8 affine min-max, weights int symmetric min-max, calibrated, optionally bias-corrected.</summary>
    internal static QuantSim Simulation(Graph graph, int bits, bool perChannel, IReadOnlyList<Tensor> calibration, bool correct)
    {
        var config = new QConfig(
            new QuantSpec { Bits = 8, Signed = false, Scheme = QuantScheme.Affine, Observer = ObserverKind.MinMax },
            new QuantSpec { Bits = bits, Signed = true, Scheme = QuantScheme.Symmetric, Axis = perChannel ? 0 : null, Observer = ObserverKind.MinMax });
        var sim = QuantSim.Prepare(graph, new QConfigMapping().SetGlobal(config));
        sim.Calibrate(calibration);
        if (correct)
        {
            BiasCorrection.Empirical(sim, calibration);
        }
        return sim;
    }

    internal static double Accuracy(GraphExecutor executor, IReadOnlyList<TextBatch> batches)
    {
        using (executor)
        {
            var accuracy = new AccuracyAccumulator(1);
            foreach (var batch in batches)
            {
                accuracy.Add(executor.Run(batch.Images), batch.Labels);
            }
            return 100 * accuracy.Report().Top1;
        }
    }

    internal static string ModelPath() =>
        Path.GetFullPath(Path.Combine(RepositoryRoot(), "..", "shared", "data", "models", "ppocr-cls", "ch_ppocr_mobile_v2.0_cls_infer.onnx"));

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SharpQuant.slnx")))
            {
                return dir.FullName;
            }
        }
        return Directory.GetCurrentDirectory();
    }
}
