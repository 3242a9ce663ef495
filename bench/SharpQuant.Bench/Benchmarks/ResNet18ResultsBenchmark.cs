using System.Globalization;
using SharpQuant.Analysis;
using SharpQuant.Data;
using SharpQuant.Models;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Runtime;

namespace SharpQuant.Bench;

/// <summary>
/// Issue #5's ResNet18 table: fidelity of the 512-d embedding (the backbone has no classifier head) to the float
/// model, for w8a8 with per-tensor or per-channel weights, with and without CLE, with and without empirical bias
/// correction. The nine shared photos are split by name: even positions (and their mirror images) calibrate, odd
/// positions (and their mirror images) evaluate, so no image is in both. Activations: uint8 affine, entropy.
/// </summary>
public sealed class ResNet18ResultsBenchmark : IBenchmark
{
    private const int BatchSize = 4;

    public string Name => "results-resnet18";

    public string Description => "ResNet18 embedding cosine / SQNR for w8a8 per-tensor and per-channel, with/without CLE and bias correction";

    public void Run(TextWriter output)
    {
        var folder = Path.GetFullPath(Path.Combine(PpocrResultsBenchmark.RepositoryRoot(), "..", "shared", "data", "images"));
        if (!Directory.Exists(folder))
        {
            output.WriteLine($"skipped: {folder} not found");
            return;
        }
        var files = ImageFiles.List(folder);
        List<Tensor> calibration, evaluation;
        using (var preset = new ResNet18Preset())
        {
            calibration = Batches(files.Where((_, i) => i % 2 == 0), preset);
            evaluation = Batches(files.Where((_, i) => i % 2 == 1), preset);
        }
        var graph = OnnxModel.Load(DefaultModels.ResNet18Path);
        graph.MakeBatchDynamic();
        var folded = graph.FoldBatchNorm();
        var equalized = folded.Equalize();
        var c = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(c, $"ResNet18 embedding fidelity: calibration {(files.Count + 1) / 2} photos + mirrors, evaluation {files.Count / 2} other photos + mirrors"));
        output.WriteLine("  | weights | CLE | bias correction | cosine | SQNR dB |");
        output.WriteLine("  |---|---|---|---|---|");
        using var reference = new GraphExecutor(folded);
        var floatOutputs = evaluation.Select(reference.Run).ToList();
        foreach (var perChannel in new[] { false, true })
        {
            foreach (var cle in new[] { false, true })
            {
                foreach (var correct in new[] { false, true })
                {
                    var source = cle ? equalized : folded;
                    var config = IntegerFormat.ForThisCpu().Apply(new QConfig(
                        QuantSpec.FakeQuantAct,
                        new QuantSpec { Bits = 8, Signed = true, Scheme = QuantScheme.Symmetric, Axis = perChannel ? 0 : null, Observer = ObserverKind.MinMax }));
                    var sim = QuantSim.Prepare(source, new QConfigMapping().SetGlobal(config));
                    sim.Calibrate(calibration);
                    if (correct)
                    {
                        BiasCorrection.Empirical(sim, calibration);
                    }
                    using var quantized = sim.CreateExecutor();
                    var fidelity = new FidelityAccumulator();
                    for (var i = 0; i < evaluation.Count; i++)
                    {
                        fidelity.Add(floatOutputs[i], quantized.Run(evaluation[i]));
                    }
                    var r = fidelity.Report();
                    output.WriteLine(string.Create(c,
                        $"  | {(perChannel ? "per-channel" : "per-tensor")} | {(cle ? "yes" : "no")} | {(correct ? "empirical" : "none")} | {r.MeanCosine:F5} | {r.SqnrDb:F2} |"));
                }
            }
        }
    }

    private static List<Tensor> Batches(IEnumerable<string> files, ResNet18Preset preset)
    {
        var tensors = new List<Tensor>();
        foreach (var file in files)
        {
            var image = ImageFiles.Decode(file);
            tensors.Add(preset.ToTensor(image));
            tensors.Add(preset.ToTensor(ImageFiles.FlipHorizontal(image)));
        }
        return tensors.Chunk(BatchSize).Select(chunk => ImagePreset.Batch(chunk)).ToList();
    }
}
