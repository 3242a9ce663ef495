using System.Diagnostics;
using System.Globalization;
using SharpQuant.Analysis;
using SharpQuant.Data;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Training;

namespace SharpQuant.Bench;

/// <summary>
/// Issue #7's acceptance table: ppocr-cls, weights 4-bit int symmetric per tensor, activations uint8 per tensor, on
/// the rendered text lines of <see cref="PpocrResultsBenchmark"/> (evaluation: seed 1, 400 lines; calibration: seed 2,
/// 64 disjoint lines). Baselines (min-max; CLE; CLE + BC; CLE + BA + BC; per-channel) and LSQ fine-tuning from several
/// of them (scales only, scales + weights), all in one run on the same evaluation lines. Fine-tuning sees only the
/// calibration lines, and no labels: its loss compares with the float model's outputs.
/// </summary>
public sealed class FinetuneResultsBenchmark : IBenchmark
{
    private const int WeightBits = 4;

    public string Name => "results-finetune";

    public string Description => "ppocr-cls w4 per-tensor a8: min-max / CLE / CLE+BC / CLE+BA+BC baselines vs LSQ fine-tuning from them";

    public void Run(TextWriter output)
    {
        var modelPath = PpocrResultsBenchmark.ModelPath();
        if (!File.Exists(modelPath))
        {
            output.WriteLine($"skipped: {modelPath} not found");
            return;
        }
        var graph = OnnxModel.Load(modelPath);
        List<TextBatch> evaluation, calibration;
        using (var set = new TextOrientationDataset(PpocrResultsBenchmark.EvaluationSeed, PpocrResultsBenchmark.EvaluationLines))
        {
            evaluation = set.Batches(PpocrResultsBenchmark.BatchSize).ToList();
        }
        using (var set = new TextOrientationDataset(PpocrResultsBenchmark.CalibrationSeed, PpocrResultsBenchmark.CalibrationLines))
        {
            calibration = set.Batches(PpocrResultsBenchmark.BatchSize).ToList();
        }
        var calibrationImages = calibration.Select(b => b.Images).ToList();
        var folded = graph.FoldBatchNorm();
        var equalized = folded.Equalize();
        var absorbed = new AbsorbHighBias(new AbsorbHighBiasOptions
        {
            MeasuredMinima = PreActivationMinima.Measure(equalized, calibrationImages),
        }).Run(equalized).Graph;

        var c = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(c,
            $"ppocr-cls w{WeightBits} per-tensor a8 on rendered text lines: evaluation seed {PpocrResultsBenchmark.EvaluationSeed} ({PpocrResultsBenchmark.EvaluationLines} lines), " +
            $"fine-tuning and calibration on seed {PpocrResultsBenchmark.CalibrationSeed} ({PpocrResultsBenchmark.CalibrationLines} lines)"));
        output.WriteLine("  | starting point | fine-tuning | accuracy (simulation) | accuracy (int8 QDQ export) | loss before → after (calibration lines) | steps | time |");
        output.WriteLine("  |---|---|---|---|---|---|---|");
        using (var executor = new Runtime.GraphExecutor(graph))
        {
            output.WriteLine(string.Create(c, $"  | float | none | {PpocrResultsBenchmark.Accuracy(executor, evaluation):F2} % | | | | |"));
        }
        var perChannel = PpocrResultsBenchmark.Simulation(folded, WeightBits, perChannel: true, calibrationImages, correct: false);
        output.WriteLine(string.Create(c, $"  | per-channel weights, no CLE (reference) | none | {PpocrResultsBenchmark.Accuracy(perChannel.CreateExecutor(), evaluation):F2} % | | | | |"));

        var starts = new Dictionary<string, Func<QuantSim>>
        {
            ["min-max, no CLE"] = () => PpocrResultsBenchmark.Simulation(folded, WeightBits, perChannel: false, calibrationImages, correct: false),
            ["CLE"] = () => PpocrResultsBenchmark.Simulation(equalized, WeightBits, perChannel: false, calibrationImages, correct: false),
            ["CLE + BC"] = () => PpocrResultsBenchmark.Simulation(equalized, WeightBits, perChannel: false, calibrationImages, correct: true),
            ["CLE + BA + BC"] = () => PpocrResultsBenchmark.Simulation(absorbed, WeightBits, perChannel: false, calibrationImages, correct: true),
        };
        var scales = new FineTuneOptions { Learn = LearnedParts.Scales };
        var scalesAndWeights = new FineTuneOptions { Learn = LearnedParts.Scales | LearnedParts.Weights };
        var runs = new (string Start, string Name, FineTuneOptions? Options)[]
        {
            ("min-max, no CLE", "none", null),
            ("min-max, no CLE", "scales (MSE)", scales),
            ("min-max, no CLE", "scales + weights (MSE)", scalesAndWeights),
            ("min-max, no CLE", "scales + weights (KL, T = 1)", scalesAndWeights with { Loss = DistillationLossKind.Kl }),
            ("min-max, no CLE", "scales + weights (KL, T = 4)", scalesAndWeights with { Loss = DistillationLossKind.Kl, Temperature = 4 }),
            ("CLE", "none", null),
            ("CLE + BC", "none", null),
            ("CLE + BC", "scales (MSE)", scales),
            ("CLE + BC", "scales + weights (MSE)", scalesAndWeights),
            ("CLE + BA + BC", "none", null),
            ("CLE + BA + BC", "scales + weights (MSE)", scalesAndWeights),
        };
        foreach (var (start, name, options) in runs)
        {
            var sim = starts[start]();
            var detail = "| | |";
            if (options is not null)
            {
                sim.EnableParamLearning();
                var clock = Stopwatch.StartNew();
                var result = FineTuner.Run(sim, graph, calibrationImages, options);
                detail = string.Create(c, $"{result.InitialLoss:G4} → {result.FinalLoss:G4} | {result.Steps}{(result.StoppedEarly ? " (early stop)" : "")} | {clock.Elapsed.TotalSeconds:F0} s |");
            }
            var accuracy = PpocrResultsBenchmark.Accuracy(sim.CreateExecutor(), evaluation);
            var exported = PpocrResultsBenchmark.Accuracy(new Runtime.GraphExecutor(QdqExport.ToGraph(sim, out _)), evaluation);
            output.WriteLine(string.Create(c, $"  | {start} | {name} | {accuracy:F2} % | {exported:F2} % | {detail}"));
            output.Flush();
        }
    }
}
