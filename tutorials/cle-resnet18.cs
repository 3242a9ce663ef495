#:project ../src/SharpQuant/SharpQuant.csproj
#:project ../src/SharpQuant.Plots/SharpQuant.Plots.csproj

// Cross-layer equalization (CLE) on ResNet18, in C#.
//
// The same walk as the PyTorch FX + EasyQuant tutorial this project grew from: load a trained ResNet18, look at
// its graph, fold BatchNorm, find the layer pairs to equalize, equalize them, quantize the model without and with
// CLE, calibrate, compare both with the float model, look at one layer's weight scales, export int8, and write an
// HTML report with all of it.
//
// Run it from the repository root:   dotnet run tutorials/cle-resnet18.cs
// It calibrates on the shared photos (../shared/data/images beside the repository) when they are there, and
// otherwise quantizes without data (ranges from the BatchNorm statistics).

using System.Diagnostics;
using System.Runtime.CompilerServices;
using SharpQuant;
using SharpQuant.Analysis;
using SharpQuant.Data;
using SharpQuant.Models;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Plots.Report;
using SharpQuant.Quantization;
using SharpQuant.Runtime;

var clock = Stopwatch.StartNew();
var repository = Path.GetDirectoryName(Path.GetDirectoryName(SourceFile()))!;
var photos = Path.Combine(repository, "..", "shared", "data", "images");
var outputFolder = Path.GetFullPath("sharpquant-tutorial");
Directory.CreateDirectory(outputFolder);
const string Layer = "stage2.block0.conv1";   // the tutorial's layer2.0.conv1

Step("1. Load a trained ResNet18");
// The default model: an ImageNet ResNet18 backbone from the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18
// (exported from CNTK; 512 features out, no classifier head). OnnxModel.Load reads it into SharpQuant's graph IR.
var model = OnnxModel.Load(DefaultModels.ResNet18Path);
var summary = GraphSummary.Of(model);
// What the output is decides which fidelity numbers mean something: "feature extractor: 512-d output, no classifier".
var output = ModelOutput.Of(model);
Console.WriteLine($"{summary.NodeCount} nodes, {summary.ParameterCount:N0} parameters, opset {model.Info.OnnxOpset}, from {summary.Producer}; {output.Summary}");
// The file was exported with batch size 1; calibrating on batches needs a free batch dimension.
var floatModel = model.Clone();
floatModel.MakeBatchDynamic();

Step("2. The graph, as torch.fx's print_tabular shows it");
// Node names are module names: the file's opaque names (Convolution257) become stage2.block0.conv1 and so on,
// derived from the residual structure. The PyTorch tutorial's layer2.0.conv1 is stage2.block0.conv1 here.
var table = model.PrintTabular().Split('\n');
foreach (var line in table.Take(10))
{
    Console.WriteLine(line);
}
Console.WriteLine($"… {table.Length - 11} more rows");

Step("3. Fold BatchNorm into the convolutions");
// Each BatchNorm becomes part of the conv before it (W·γ/σ, new bias). The float model computes the same, and the
// BatchNorm statistics stay on the conv for the data-free steps. Passes never change their input graph.
var folded = new FoldBatchNorm().Run(floatModel);
Console.WriteLine($"{folded.Report.Folded.Count} BatchNorms folded, {folded.Report.Skipped.Count} left in place");

Step("4. Find the layers to equalize");
// Instead of listing the pairs by hand (as PyTorch's equalize expects), walk the graph: a conv, then only ReLU-like
// ops, then another conv whose input nothing else reads. Adds and pooling break a pair; every skipped candidate is
// reported with the reason.
var sets = folded.Graph.FindEqualizationSets();
Console.WriteLine(sets.FormatSets());
Console.WriteLine($"{sets.Rejected.Count} candidates skipped, for example: {sets.Rejected[0].Layer}: {sets.Rejected[0].Reason}");

Step("5. Equalize");
// Each pair's channels are rescaled so that conv1's output channel c and conv2's input channel c get the same
// range; sweeps repeat until the weights stop changing (PyTorch's threshold of 1e-4).
var equalized = new EqualizeCrossLayer(new EqualizationOptions { Threshold = 1e-4 }).Run(folded.Graph);
Console.WriteLine($"{equalized.Report.Sweeps} sweeps, converged: {equalized.Report.Converged}");
Console.WriteLine("spread of per-channel weight ranges (largest / smallest), before → after:");
foreach (var spread in equalized.Report.Sets.SelectMany(s => s.Spreads).Take(6))
{
    Console.WriteLine($"  {spread.Layer,-22} {spread.Before,5:F1} → {spread.After,5:F1}");
}

Step("6. Describe the quantization: qconfigs");
// The tutorial's global qconfig is fake_quant_act (histogram observer, uint8 affine) and fake_quant_weight
// (per-channel int8 symmetric, min-max): QConfig.Default. Its per-conv qconfigs are learnable_act(range=2) and
// learnable_weights(out_channels), set by module name: QConfigMapping.TutorialLearnable builds that mapping.
// The learnable quantizers matter for fine-tuning; here they start from calibrated ranges.
var mappingWithoutCle = QConfigMapping.TutorialLearnable(folded.Graph);
var mappingWithCle = QConfigMapping.TutorialLearnable(equalized.Graph);
Console.WriteLine($"global: {QConfig.Default.Activation!.Describe()} / {QConfig.Default.Weight!.Describe()}");
Console.WriteLine($"{Layer}: {mappingWithCle.Resolve(equalized.Graph.FindNode(Layer)!)!.Weight!.Describe()}");

Step("7. Prepare: insert fake quantization");
var withoutCle = QuantSim.Prepare(folded.Graph, mappingWithoutCle);
var withCle = QuantSim.Prepare(equalized.Graph, mappingWithCle);
Console.WriteLine($"{withCle.Quantizers.Count} quantizers, for example {withCle.Quantizers[0]}");

Step("8. Calibrate");
var hasPhotos = Directory.Exists(photos);
List<Tensor>? evaluation = null;
string? evaluationText = null;
CalibrationSummary calibration;
using var preset = new ResNet18Preset();
if (hasPhotos)
{
    // Nine photos are few, so each gives 5 crops (sharpquant quantize also adds their mirror images; left out here
    // to keep the tutorial quick). Alternate photos calibrate and evaluate, so no evaluation sample shares pixels
    // with a calibration sample.
    var plan = new CropPlan(seed: 1, includeFlips: false);
    var calibrationSet = new ImageBatches(photos, preset, batchSize: 10, plan, ImageSet.Calibration);
    var evaluationSet = new ImageBatches(photos, preset, batchSize: 10, plan, ImageSet.Evaluation);
    var calibrationBatches = calibrationSet.Batches().ToList();
    evaluation = evaluationSet.Batches().ToList();
    foreach (var sim in new[] { withoutCle, withCle })
    {
        // Observe only while calibrating (PyTorch's enable_static_observation): the learnable quantizers would
        // otherwise fake-quantize with their initial scales while later layers are being observed.
        sim.EnableStaticObservation();
        sim.Calibrate(calibrationBatches);
    }
    var described = $"{calibrationSet.Samples.Count} samples: 5 crops of each of {calibrationSet.Images} photos " +
        $"(the other {evaluationSet.Split!.FilesIn(ImageSet.Evaluation).Count} photos are used only for evaluation)";
    Console.WriteLine($"calibrated on {described}");
    calibration = new CalibrationSummary(described);
    evaluationText = $"{evaluation.Sum(b => b.Shape[0])} samples: 5 crops of each of {evaluationSet.Split!.FilesIn(ImageSet.Evaluation).Count} photos never used for calibration";
}
else
{
    // No photos: activation ranges from the folded BatchNorm statistics (β ± 6|γ|), weights as they are.
    DataFreeRange(withoutCle);
    var free = DataFreeRange(withCle);
    Console.WriteLine($"no photos at {photos}: data-free ranges for {free.Ranges.Count} activation quantizers");
    calibration = new CalibrationSummary("no photos were found; ranges of the model with CLE are listed.", free);
}

Step("9. Evaluate: how close is each quantized model to the float model?");
var evaluated = new List<EvaluatedModel>();
if (evaluation is not null)
{
    using var reference = new GraphExecutor(floatModel);
    foreach (var (label, sim) in new[] { ("int8, no CLE", withoutCle), ("int8, with CLE", withCle) })
    {
        using var executor = sim.CreateExecutor();
        // Given the output, the report leaves out top-1 agreement and KL: a backbone's largest feature is no class.
        var fidelity = new FidelityAccumulator(output);
        foreach (var batch in evaluation)
        {
            fidelity.Add(reference.Run(batch), executor.Run(batch));
        }
        var r = fidelity.Report();
        evaluated.Add(new EvaluatedModel(label, r));
        // This backbone has no classifier, so fidelity of its 512 features stands in for top-k classes.
        Console.WriteLine($"{label,-15} cosine {r.MeanCosine:F5}  SQNR {r.SqnrDb:F2} dB  on {r.Samples} samples");
    }
}
else
{
    Console.WriteLine("no photos: nothing to evaluate on");
}

Step($"10. Weight scales of {Layer}, without and with CLE (print_scale)");
// Per-channel symmetric weights: one scale per output channel, zero points all 0. CLE brings the channels'
// ranges, and so their scales, closer together.
foreach (var (label, sim) in new[] { ("Without CLE", withoutCle), ("After CLE", withCle) })
{
    var q = QParamsReport.Of(sim, Layer + ".weight_fake_quant").Single();
    Console.WriteLine($"{label}: scales {q.Scale.Min():0.000e+0} … {q.Scale.Max():0.000e+0} (largest / smallest {q.Scale.Max() / q.Scale.Min():F1})");
    Console.WriteLine(string.Join('\n', QParamsReport.Format(q).Split('\n').Take(3)) + "\n  …");
}

Step("11. Export int8");
// QuantizeLinear / DequantizeLinear around int8 weights and int32 biases: stock ONNX Runtime runs it with integer kernels.
var int8Path = Path.Combine(outputFolder, "resnet18-cle-int8.onnx");
var export = QdqExport.Save(withCle, int8Path);
Console.WriteLine($"{int8Path}: {(double)export.FloatBytes / export.QuantizedBytes:F2}× smaller than float");

Step("12. Write the HTML report");
// The report's sections are built from the same objects; figures are PNG bytes with a caption.
var ranges = new[] { ChannelRanges.Of(folded.Graph, Layer, "without CLE"), ChannelRanges.Of(equalized.Graph, Layer, "with CLE") };
var sims = new[] { new ReportedSim("int8, no CLE", withoutCle), new ReportedSim("int8, with CLE", withCle) };
var reportPath = Path.Combine(outputFolder, "report.html");
HtmlReportWriter.Write(new ReportDocument("CLE on ResNet18 (tutorial)", "BatchNorm folded, equalized, int8 without and with CLE", [
    ModelSection.Build(summary, DefaultModels.ResNet18Path, output),
    GraphSection.Build(model),
    FoldingSection.Build(folded.Report),
    EqualizationSection.Build(sets, equalized.Report),
    QuantizationSection.Build([
        new("global qconfig", $"{QConfig.Default.Activation!.Describe()} activations, {QConfig.Default.Weight!.Describe()} weights"),
        new("every conv (by module name)", $"learnable_act(range=2): {QuantSpec.LearnableAct(2).Describe()}; learnable_weights(out_channels): {QuantSpec.LearnableWeights(1).Describe()}"),
    ], sims, calibration),
    EvaluationSection.Build(evaluationText, evaluated, output: output),
    FiguresSection.Build([new ReportFigure(WeightRangeChart.Png(Layer, ranges), $"Per-output-channel weight range of {Layer}, relative to its largest channel, without and with CLE.")]),
    QuantizerParametersSection.Build(sims, Layer + ".weight_fake_quant"),
]), reportPath);
Console.WriteLine($"wrote {reportPath}");
Console.WriteLine($"done in {clock.Elapsed.TotalSeconds:F1} s");
return 0;

DataFreeRangeReport DataFreeRange(QuantSim sim)
{
    var free = DataFreeRanges.Apply(sim, preset.InputRange);
    foreach (var skipped in free.Skipped)
    {
        sim.SetFakeQuant(skipped.Layer, false);
    }
    return free;
}

void Step(string title) => Console.WriteLine($"\n== {title} == ({clock.Elapsed.TotalSeconds:F1} s)");

// The tutorial's own path, recorded by the compiler: the shared photos are found relative to the repository.
static string SourceFile([CallerFilePath] string path = "") => path;
