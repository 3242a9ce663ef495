using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using SharpQuant.Analysis;
using SharpQuant.Data;
using SharpQuant.Models;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Passes.Normalization;
using SharpQuant.Quantization;
using SharpQuant.Runtime;

namespace SharpQuant.Bench;

/// <summary>
/// Issue #15's acceptance row per model: every model in ../shared/data/zoo, ppocr-cls and the default ResNet18,
/// each folded, its equalization sets counted, quantized as `sharpquant quantize` does (w8a8, entropy activations,
/// per-channel weights, no bias correction) on the calibration crops of the shared photos, exported to QDQ, and
/// measured against its float model: int8/float speed at batch 1 and 8 (float latency over int8 latency, both
/// sessions timed interleaved in the same run, median of per-round ratios), SQNR of the int8 output to the float
/// output on the evaluation crops, and the census of ops ORT runs in int8 and in float after its optimizations.
/// </summary>
public sealed class ModelZooBenchmark : IBenchmark
{
    private const int CalibrationBatch = 8;
    private const int Warmups = 2;
    private const int Rounds = 15;

    /// <summary>Issue #15's targets: ≥ 1.3× on every model at batch 1, ≥ 2× on these.</summary>
    private const double Target = 1.3;
    private const double ResidualTarget = 2.0;
    private static readonly string[] ResidualModels = ["resnet18", "mobilenet_v2", "mobilenet_v2_bn", "regnet_x_400mf"];

    public string Name => "zoo";

    public string Description => "per model (zoo, ppocr-cls, ResNet18): equalization sets, int8/float speed at batch 1 and 8, SQNR, int8 op census";

    public void Run(TextWriter output)
    {
        var report = new Report(output);
        report.Title("Model zoo: int8 QDQ export against the float model", Description);
        report.Machine(("integer format", IntegerFormat.ForThisCpu().Name), ("onnx runtime threads", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture)));
        var photos = SharedPhotoSplit.Folder();
        if (!Directory.Exists(photos))
        {
            output.WriteLine($"skipped: {photos} not found");
            return;
        }
        // SHARPQUANT_BENCH_MODELS=a,b limits the run to those models; SHARPQUANT_BENCH_PLACEMENT=units measures the
        // placement without the integer-kernel quantizers, for comparison.
        var only = Environment.GetEnvironmentVariable("SHARPQUANT_BENCH_MODELS")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var placement = string.Equals(Environment.GetEnvironmentVariable("SHARPQUANT_BENCH_PLACEMENT"), "units", StringComparison.OrdinalIgnoreCase)
            ? ActivationPlacement.Units : ActivationPlacement.IntegerKernels;
        report.Text("activation placement", placement.ToString());
        var rows = new List<string>();
        var misses = 0;
        foreach (var (name, path, preset) in Models().Where(m => only is null || only.Contains(m.Name)))
        {
            report.Section(name);
            try
            {
                rows.Add(Measure(report, name, path, preset, photos, placement, ref misses));
            }
            catch (SharpQuantException e)
            {
                report.Text("failed", e.Message);
                rows.Add($"| {name} | failed: {e.Message} | | | |");
            }
            report.LoadAverage("load average");
        }
        report.Section("table (README)");
        output.WriteLine("| model | equalization sets | int8/float batch 1 | int8/float batch 8 | SQNR |");
        output.WriteLine("|---|---|---|---|---|");
        rows.ForEach(output.WriteLine);
        report.Note($"{misses} of the batch-1 speed targets missed");
    }

    private static IEnumerable<(string Name, string Path, string Preset)> Models()
    {
        var data = Path.GetFullPath(Path.Combine(PpocrResultsBenchmark.RepositoryRoot(), "..", "shared", "data"));
        var zoo = Path.Combine(data, "zoo");
        if (Directory.Exists(zoo))
        {
            foreach (var file in Directory.GetFiles(zoo, "*.onnx").Order(StringComparer.Ordinal))
            {
                yield return (Path.GetFileNameWithoutExtension(file), file, "imagenet");
            }
        }
        var ppocr = Path.Combine(data, "models", "ppocr-cls", "ch_ppocr_mobile_v2.0_cls_infer.onnx");
        if (File.Exists(ppocr))
        {
            yield return ("ppocr-cls", ppocr, "ppocr-cls");
        }
        yield return ("resnet18", DefaultModels.ResNet18Path, "resnet18");
    }

    private static string Measure(Report report, string name, string path, string presetName, string photos, ActivationPlacement placement, ref int misses)
    {
        var c = CultureInfo.InvariantCulture;
        var original = OnnxModel.Load(path);
        original.MakeBatchDynamic();
        // As the commands load a model: normalized (Identity biases, shape arithmetic folded), then folded.
        var graph = original.Normalize().FoldBatchNorm();
        var sets = graph.FindEqualizationSets();
        report.Text("equalization sets", $"{sets.Sets.Count} ({sets.PairCount} pairs, {sets.Sets.Count - sets.PairCount} triples; {sets.Rejected.Count} candidates rejected)");

        var preset = ImagePresets.Fit(presetName, ImageInput.Of(graph), ImagePresetOptions.None);
        try
        {
            var plan = new CropPlan(seed: 1);
            var calibration = new ImageBatches(photos, preset, CalibrationBatch, plan, ImageSet.Calibration).Batches().ToList();
            var evaluation = new ImageBatches(photos, preset, CalibrationBatch, plan, ImageSet.Evaluation).Batches().ToList();
            var format = IntegerFormat.ForThisCpu();
            var sim = QuantSim.Prepare(graph, CliQConfig.Mapping(format), placement);
            sim.Calibrate(calibration);
            var int8 = OnnxModel.ToBytes(QdqExport.ToGraph(sim, out var export, format));
            var floatModel = OnnxModel.ToBytes(graph);
            report.Text("export", $"{export.Weights} weights, {export.Activations} activations, {export.Biases} int32 biases");
            var census = KernelCensus.Of(int8);
            report.Text("ORT runs in int8", KernelCensus.Format(census.IntegerOps));
            report.Text("ORT runs in float", KernelCensus.Format(census.FloatOps));
            report.Text("left as conversions", $"QuantizeLinear {census.QuantizeLinear}, DequantizeLinear {census.DequantizeLinear}");

            var options = new ExecutorOptions { IntraOpThreads = Environment.ProcessorCount };
            using var so = options.CreateSessionOptions();
            using var floatSession = new InferenceSession(floatModel, so);
            using var int8Session = new InferenceSession(int8, so);

            var fidelity = new FidelityAccumulator();
            var simulated = new FidelityAccumulator();
            using (var simulation = sim.CreateExecutor())
            {
                foreach (var batch in evaluation)
                {
                    var reference = Run(floatSession, batch);
                    fidelity.Add(reference, Run(int8Session, batch));
                    simulated.Add(reference, simulation.Run(batch));
                }
            }
            var sqnr = fidelity.Report().SqnrDb;
            report.Value("SQNR int8 to float (evaluation crops)", sqnr, "dB", $"{fidelity.Samples} samples; the simulation: {simulated.Report().SqnrDb.ToString("F2", c)} dB");

            var speeds = new double[2];
            var sample = evaluation[0];
            foreach (var (i, batch) in new[] { (0, 1), (1, 8) })
            {
                var input = Repeat(sample, batch);
                var runs = batch == 1 ? 20 : 4;
                var (f, q) = Timing.Interleave(() => RunTimes(floatSession, input, runs), () => RunTimes(int8Session, input, runs), Warmups, Rounds);
                speeds[i] = Timing.PairedRatioMedian(f, q);
                var target = batch == 1 ? ResidualModels.Contains(name) ? ResidualTarget : Target : (double?)null;
                var ms = string.Create(c, $"float {f.MedianMs / runs:F2} ms, int8 {q.MedianMs / runs:F2} ms per run; {Rounds} rounds of {runs}");
                var verdict = target is { } t ? string.Create(c, $"{(speeds[i] >= t ? "PASS" : "MISS")} (target >= {t:F1}x); ") : "";
                misses += target is { } m && speeds[i] < m ? 1 : 0;
                report.Line($"int8/float speed, batch {batch}", string.Create(c, $"{speeds[i]:F2} x"), verdict + ms);
            }
            return string.Create(c, $"| {name} | {sets.Sets.Count} | {speeds[0]:F2}× | {speeds[1]:F2}× | {sqnr:F2} dB |");
        }
        finally
        {
            (preset as IDisposable)?.Dispose();
        }
    }

    /// <summary>The first sample of a batch repeated <paramref name="count"/> times.</summary>
    private static Tensor Repeat(Tensor batch, int count)
    {
        var all = batch.ToArray<float>();
        var size = (int)(all.Length / batch.Shape[0]);
        var data = new float[size * count];
        for (var i = 0; i < count; i++)
        {
            Array.Copy(all, 0, data, i * size, size);
        }
        var shape = batch.Shape.ToArray();
        shape[0] = count;
        return Tensor.FromFloats(data, shape);
    }

    private static Tensor Run(InferenceSession session, Tensor input)
    {
        using var value = OrtValue.CreateTensorValueFromMemory(input.ToArray<float>(), input.Shape.ToArray());
        using var runOptions = new RunOptions();
        using var result = session.Run(runOptions, [session.InputNames[0]], [value], [session.OutputNames[0]]);
        var output = result[0];
        return Tensor.FromFloats(output.GetTensorDataAsSpan<float>().ToArray(), output.GetTensorTypeAndShape().Shape);
    }

    private static void RunTimes(InferenceSession session, Tensor input, int runs)
    {
        using var value = OrtValue.CreateTensorValueFromMemory(input.ToArray<float>(), input.Shape.ToArray());
        using var runOptions = new RunOptions();
        for (var i = 0; i < runs; i++)
        {
            using var result = session.Run(runOptions, [session.InputNames[0]], [value], [session.OutputNames[0]]);
        }
    }
}
