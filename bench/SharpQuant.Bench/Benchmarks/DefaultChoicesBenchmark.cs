using System.Diagnostics;
using System.Globalization;
using SharpQuant.Analysis;
using SharpQuant.Models;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Runtime;

namespace SharpQuant.Bench;

/// <summary>
/// Where the default int8 recipe loses fidelity on ResNet18's embedding, and what each candidate default choice is
/// worth, all on the `pytorch` bench's samples (5 crops and mirror images of the calibration photos; the other photos'
/// crops evaluate): the error of weights alone, activations alone and each stage alone; each observer for every
/// activation; min-max for the input and the last quantizer; the per-quantizer observer a greedy search picks on the
/// calibration samples; bias correction (empirical, analytic) with and without CLE. SQNR of the int8 export (ONNX
/// Runtime, integer kernels) against the float model; "sim" rows toggle quantizers in the simulation.
/// </summary>
public sealed class DefaultChoicesBenchmark : IBenchmark
{
    private const int BatchSize = 8;

    /// <summary>A greedy switch must gain this much on the calibration samples to be kept (below it is noise).</summary>
    private const double GreedyGainDb = 0.01;

    public string Name => "defaults";

    public string Description => "ResNet18 w8a8: error by source and the effect of each candidate default (observers, input/last quantizer, bias correction, CLE)";

    public void Run(TextWriter output)
    {
        if (SharedPhotoSplit.Load(output, BatchSize) is not { } split)
        {
            return;
        }
        var (calibration, evaluation, _) = split;
        var graph = OnnxModel.Load(DefaultModels.ResNet18Path);
        graph.MakeBatchDynamic();
        var folded = graph.FoldBatchNorm();
        var format = IntegerFormat.ForThisCpu();
        using var reference = new GraphExecutor(folded);
        var floatEvaluation = evaluation.Select(reference.Run).ToList();
        var floatCalibration = calibration.Select(reference.Run).ToList();
        var c = CultureInfo.InvariantCulture;
        output.WriteLine($"defaults: ResNet18 (BatchNorm folded), {format.Name} on {CpuFeatures.Detect().Describe()}; SQNR of the 512-d embedding in dB");

        QuantSim Calibrated(Graph source, ObserverKind observer) => CliQConfig.Calibrated(source, calibration, format, observer: observer);
        double Export(QuantSim sim, bool onCalibration = false)
        {
            using var executor = new GraphExecutor(QdqExport.ToGraph(sim, out _, format));
            return Score(executor, onCalibration ? calibration : evaluation, onCalibration ? floatCalibration : floatEvaluation);
        }
        double Simulated(QuantSim sim)
        {
            using var executor = sim.CreateExecutor();
            return Score(executor, evaluation, floatEvaluation);
        }
        void Row(string what, double sqnr) => output.WriteLine(string.Create(c, $"  | {what} | {sqnr:F2} |"));

        output.WriteLine("  | choice | SQNR dB |");
        output.WriteLine("  |---|---|");
        var kinds = new[] { ObserverKind.Entropy, ObserverKind.MinMax, ObserverKind.Mse, ObserverKind.Percentile };
        var sims = kinds.ToDictionary(k => k, k => Calibrated(folded, k));
        var baseline = sims[ObserverKind.Entropy];
        foreach (var kind in kinds)
        {
            Row($"{kind} observers everywhere{(kind == ObserverKind.Entropy ? " (the default)" : "")}", Export(sims[kind]));
        }

        baseline.SetFakeQuant("*activation_fake_quant", false);
        Row("sim: weights quantized alone", Simulated(baseline));
        baseline.SetFakeQuant("*activation_fake_quant", true);
        baseline.SetFakeQuant("*weight_fake_quant", false);
        Row("sim: activations quantized alone", Simulated(baseline));
        foreach (var group in new[] { "Input*", "stem.*", "stage1.*", "stage2.*", "stage3.*", "stage4.*" })
        {
            baseline.SetFakeQuant("*", false);
            baseline.SetFakeQuant(group, true);
            Row($"sim: only {group} quantized", Simulated(baseline));
        }
        baseline.SetFakeQuant("*", true);

        var activations = baseline.Quantizers.Where(q => q.Kind != QuantizerKind.Weight).Select(q => q.Name).ToList();
        var input = activations.First(a => a.StartsWith(graph.Inputs[0].Name, StringComparison.Ordinal));
        var last = activations.Last(a => !a.StartsWith(graph.Inputs[0].Name, StringComparison.Ordinal) && !a.Contains("maxpool", StringComparison.Ordinal));
        var mixed = Calibrated(folded, ObserverKind.Entropy);
        mixed[input].SetQParams(sims[ObserverKind.MinMax][input].QParams);
        Row("entropy, min-max for the input quantizer", Export(mixed));
        mixed[last].SetQParams(sims[ObserverKind.MinMax][last].QParams);
        Row($"entropy, min-max for the input and the last ({last}) quantizers", Export(mixed));

        var clock = Stopwatch.StartNew();
        var greedy = Calibrated(folded, ObserverKind.Entropy);
        var best = Export(greedy, onCalibration: true);
        var switched = new List<string>();
        foreach (var name in activations)
        {
            var keep = greedy[name].QParams;
            var keptKind = ObserverKind.Entropy;
            foreach (var kind in kinds.Skip(1))
            {
                greedy[name].SetQParams(sims[kind][name].QParams);
                var sqnr = Export(greedy, onCalibration: true);
                if (sqnr > best + GreedyGainDb)
                {
                    (best, keep, keptKind) = (sqnr, sims[kind][name].QParams, kind);
                }
            }
            greedy[name].SetQParams(keep);
            if (keptKind != ObserverKind.Entropy)
            {
                switched.Add($"{name.Replace(".activation_fake_quant", "", StringComparison.Ordinal)}={keptKind}");
            }
        }
        Row(string.Create(c, $"greedy per-quantizer observer, chosen on the calibration samples ({switched.Count} switched, {clock.Elapsed.TotalSeconds:F0} s)"), Export(greedy));
        output.WriteLine($"    switched: {string.Join(", ", switched)}");

        foreach (var cle in new[] { false, true })
        {
            var source = cle ? folded.Equalize() : folded;
            var what = cle ? "CLE" : "no CLE";
            if (cle)
            {
                Row("CLE, no bias correction", Export(Calibrated(source, ObserverKind.Entropy)));
            }
            var empirical = Calibrated(source, ObserverKind.Entropy);
            clock.Restart();
            BiasCorrection.Empirical(empirical, calibration);
            var seconds = clock.Elapsed.TotalSeconds;
            Row(string.Create(c, $"{what}, empirical bias correction ({seconds:F1} s)"), Export(empirical));
            var analytic = Calibrated(source, ObserverKind.Entropy);
            BiasCorrection.Analytic(analytic);
            Row($"{what}, analytic bias correction", Export(analytic));
        }
    }

    private static double Score(GraphExecutor executor, IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor> expected)
    {
        var fidelity = new FidelityAccumulator();
        for (var i = 0; i < inputs.Count; i++)
        {
            fidelity.Add(expected[i], executor.Run(inputs[i]));
        }
        return fidelity.Report().SqnrDb;
    }
}
