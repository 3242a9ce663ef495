using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using SharpQuant.Analysis;
using SharpQuant.Data;
using SharpQuant.Models;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Plots;
using SharpQuant.Plots.Report;
using SharpQuant.Quantization;
using Spectre.Console;

namespace SharpQuant.Cli.Commands;

/// <summary>
/// <c>sharpquant demo [--images DIR] [-o DIR]</c>: the PyTorch tutorial's whole flow on the default ResNet18 —
/// load, the first rows of the graph table, BatchNorm folding, the equalization sets and cross-layer equalization,
/// int8 simulations without and with CLE using the tutorial's learnable-style qconfigs (per-channel weights,
/// per-tensor activations), calibration on the images (or data-free ranges from the BatchNorm statistics), fidelity
/// to the float model, boxplots and quantization-grid histograms of the tutorial's layer, its weight scales without
/// and with CLE, the int8 QDQ exports and the HTML report, all written to one folder.
/// </summary>
public static class DemoCommand
{
    /// <summary>The layer the tutorial looks at: torchvision's layer2.0.conv1, the first conv of the second stage.</summary>
    public const string FocusLayer = "stage2.block0.conv1";

    private const int TableRows = 12;
    private const int PrintedScales = 9;
    private const int BatchSize = 8;
    private const string WithoutCleLabel = "without CLE";
    private const string WithCleLabel = "with CLE";

    public static Command Create(CliContext context)
    {
        var outDir = new Option<string>("--output", "-o") { Description = "Folder for the demo's outputs", DefaultValueFactory = _ => "sharpquant-demo" };
        var images = new Option<string>("--images")
        {
            Description = "Folder of photos: alternate images (by name) calibrate and evaluate. Without it the ranges are data-free and nothing is evaluated",
        };
        var command = new Command("demo", "Run the tutorial's whole flow on the default ResNet18") { outDir, images };
        command.SetAction(parse => context.Runner.Run(parse, () =>
        {
            var clock = Stopwatch.StartNew();
            var console = ConsoleOutput.For(context.Out);
            var folder = parse.GetValue(outDir)!;
            var imageFolder = parse.GetValue(images);
            if (imageFolder is not null && !Directory.Exists(imageFolder))
            {
                throw new DirectoryNotFoundException($"image folder '{imageFolder}' does not exist");
            }
            // The data is checked before any output is written: a folder without images fails at once.
            using var preset = new ResNet18Preset();
            var graph = OnnxModel.Load(DefaultModels.ResNet18Path);
            var data = imageFolder is null ? null : ReportCommand.ImageData(imageFolder, preset, BatchSize, EvaluateCommand.DefaultSeed, graph.Inputs[0].Name);
            Directory.CreateDirectory(folder);
            var plots = Path.Combine(folder, "plots");
            Directory.CreateDirectory(plots);
            var written = new List<string>();
            var figures = new List<ReportFigure>();

            Step(console, "1. load the default ResNet18");
            var summary = GraphSummary.Of(graph);
            var output = ModelOutput.Of(graph);
            console.MarkupLine($"{Markup.Escape(DefaultModels.ResNet18Path)}: {summary.NodeCount} nodes, {summary.ParameterCount:N0} parameters, opset {graph.Info.OnnxOpset}, producer {Markup.Escape(summary.Producer)}");
            // Said at the start: the fidelity below has no top-1 agreement or KL for a backbone without a classifier.
            console.MarkupLine($"output '{Markup.Escape(output.Name)}': {Markup.Escape(output.Summary)}");
            var sections = new List<ReportSection> { ModelSection.Build(summary, DefaultModels.ResNet18Path, output), GraphSection.Build(graph) };
            graph.MakeBatchDynamic();

            Step(console, "2. the graph, as torch.fx's print_tabular (first rows)");
            var lines = GraphTable.Format(GraphTable.Rows(graph), totalWidth: TerminalWidth.Of(context.Out)).Split('\n');
            foreach (var line in lines.Take(TableRows + 2))
            {
                console.WriteLine(line);
            }
            console.MarkupLine($"[grey]… {lines.Length - TableRows - 3} more rows (all of them in the report, or: sharpquant inspect --tabular)[/]");

            Step(console, "3. fold BatchNorm into the convolutions");
            var folded = new FoldBatchNorm().Run(graph);
            sections.Add(FoldingSection.Build(folded.Report));
            console.MarkupLine($"{folded.Report.Folded.Count} BatchNorms folded, {folded.Report.Skipped.Count} left in place");
            written.Add(Save(folded.Graph, Path.Combine(folder, "resnet18-folded.onnx")));

            Step(console, "4–5. find the layers to equalize, and equalize them (CLE)");
            var options = new EqualizationOptions();
            var equalized = new EqualizeCrossLayer(options).Run(folded.Graph);
            EqualizeCommand.WriteReport(console, equalized.Report);
            sections.Add(EqualizationSection.Build(equalized.Report.Discovery, equalized.Report, options));
            written.Add(Save(equalized.Graph, Path.Combine(folder, "resnet18-equalized.onnx")));

            Step(console, "6. describe the quantization: the tutorial's qconfigs");
            var format = IntegerFormat.ForThisCpu();
            var sims = new List<ReportedSim>
            {
                new($"int8, {WithoutCleLabel}", QuantSim.Prepare(folded.Graph, QConfigMapping.TutorialLearnable(folded.Graph))),
                new($"int8, {WithCleLabel}", QuantSim.Prepare(equalized.Graph, QConfigMapping.TutorialLearnable(equalized.Graph))),
            };
            var focusSpec = sims[1].Sim[FocusLayer + ".weight_fake_quant"].Spec;
            console.MarkupLine($"global: {Markup.Escape(QConfig.Default.Activation!.Describe())} activations, {Markup.Escape(QConfig.Default.Weight!.Describe())} weights");
            console.MarkupLine($"every conv, by module name: learnable_act(range=2) {Markup.Escape(QuantSpec.LearnableAct(2).Describe())}, learnable_weights {Markup.Escape(focusSpec.Describe())}");
            console.MarkupLine($"{sims[1].Sim.Quantizers.Count} quantizers per model; the export's integer format on this CPU: {Markup.Escape(format.Name)} ({Markup.Escape(format.Reason)})");

            Step(console, data is null ? "7. ranges without images (data-free, from the BatchNorm statistics)" : "7. calibrate on the photos");
            if (data is not null)
            {
                foreach (var s in sims)
                {
                    // Observe only while calibrating (PyTorch's enable_static_observation): the learnable quantizers would
                    // otherwise fake-quantize with their initial scales while later layers are being observed.
                    s.Sim.EnableStaticObservation();
                }
            }
            var calibration = ReportCommand.Calibrate(console, context.Error, sims, data, preset);
            sections.Add(QuantizationSection.Build(
                [
                    new("global qconfig", $"{QConfig.Default.Activation!.Describe()} activations, {QConfig.Default.Weight!.Describe()} weights"),
                    new("every conv (by module name)", $"learnable_act(range=2): {QuantSpec.LearnableAct(2).Describe()}; learnable_weights(out_channels): {focusSpec.Describe()}"),
                    new("export format", $"{format.Name}: {format.Reason}"),
                ],
                sims,
                calibration));

            Step(console, "8. evaluate against the float model");
            if (data is null)
            {
                console.MarkupLine("[yellow]evaluation needs images:[/] sharpquant demo --images DIR (or sharpquant evaluate FLOAT.onnx QUANT.onnx --images DIR)");
                sections.Add(EvaluationSection.Build(null, []));
            }
            else
            {
                sections.Add(ReportCommand.Evaluate(console, folded.Graph, sims, data));
            }

            Step(console, $"9. look: boxplots and histograms of {FocusLayer}");
            var isFocus = (Node n) => n.ModuleName == FocusLayer;
            var boxplots = ModelFigures.WriteBoxplotComparisons(folded.Graph, WithoutCleLabel, equalized.Graph, WithCleLabel, plots, isFocus);
            figures.AddRange(boxplots.Select(p => Figure(p,
                $"Per-output-channel weight boxplots of {FocusLayer} without CLE (top) and with CLE (bottom), on the same value scale: " +
                "CLE evens out the channels' ranges.")));
            var histograms = new List<string>();
            foreach (var (s, label) in sims.Zip([WithoutCleLabel, WithCleLabel]))
            {
                var sub = Path.Combine(plots, label.Replace(' ', '-'));
                Directory.CreateDirectory(sub);
                var weightPlots = ModelFigures.WriteWeightHistograms(s.Sim, sub, q => q.Target == FocusLayer);
                histograms.AddRange(weightPlots);
                figures.AddRange(weightPlots.Select(p => Figure(p,
                    $"{FocusLayer} weights {label}, on the integer grid (w/s + z): 5 bins per quantization step, centred on the " +
                    "quantization levels; the inset is the mean distribution inside a step.")));
                if (data is not null)
                {
                    var collected = ActivationHistograms.Collect(s.Sim, data.Evaluation().Select(b => b.Input.Single), q => q.Target == FocusLayer || q.Target == FocusLayer.Replace("conv1", "relu1", StringComparison.Ordinal));
                    var activationPlots = ModelFigures.WriteActivationHistograms(collected, sub, "evaluation photos");
                    histograms.AddRange(activationPlots);
                    figures.AddRange(activationPlots.Select(p => Figure(p, $"Activation histogram {label} at {Path.GetFileNameWithoutExtension(p)}, over the evaluation photos.")));
                }
            }
            written.AddRange(boxplots);
            written.AddRange(histograms);
            console.MarkupLine($"{boxplots.Count + histograms.Count} figures in {Markup.Escape(plots)} (every layer: sharpquant plot boxplots|histograms)");
            sections.Add(FiguresSection.Build(figures));

            Step(console, $"10. sensitivity: which bins of {FocusLayer} matter to the output");
            if (data is null)
            {
                console.MarkupLine("[yellow]the sensitivity analysis backpropagates real inputs:[/] sharpquant demo --images DIR (or sharpquant plot sensitivity --images DIR)");
                sections.Add(SensitivitySection.Build([], null));
            }
            else
            {
                var batch = data.Evaluation()[0].Input.Single;
                var seed = SensitivityAnalysis.DefaultSeed(folded.Graph);
                var description = $"one evaluation batch ({batch.Shape[0]} samples)";
                var runs = new List<ReportedSensitivity>();
                foreach (var (s, label) in sims.Zip([WithoutCleLabel, WithCleLabel]))
                {
                    var selected = ReportCommand.SensitivityQuantizers(s.Sim, FocusLayer);
                    var result = SensitivityAnalysis.Run(s.Sim, [batch], seed, selected.Contains);
                    runs.Add(new ReportedSensitivity(s.Label, result));
                    var sensitivityPlots = ModelFigures.WriteSensitivityHistograms(result, Path.Combine(plots, label.Replace(' ', '-')), description);
                    written.AddRange(sensitivityPlots);
                }
                console.MarkupLine($"{Markup.Escape(SensitivityHistograms.DescribeTarget(seed))} backpropagated through both simulations on {description}; " +
                    "the green overlay sums the gradients into the histogram bins (all layers: sharpquant plot sensitivity)");
                sections.Add(SensitivitySection.Build(runs, description));
            }

            Step(console, $"11. weight scales of {FocusLayer}, without and with CLE (the tutorial's print_scale)");
            foreach (var s in sims)
            {
                var q = QParamsReport.Of(s.Sim, FocusLayer + ".weight_fake_quant").Single();
                console.WriteLine($"{s.Label}: " + QParamsReport.Format(q with { Scale = q.Scale.Take(PrintedScales).ToArray() })
                    .Replace($"({PrintedScales} channels", $"(first {PrintedScales} of {q.Scale.Length} channels", StringComparison.Ordinal));
            }
            sections.Add(QuantizerParametersSection.Build(sims, FocusLayer + ".weight_fake_quant"));

            Step(console, "12. export int8 models that ONNX Runtime runs with integer kernels");
            foreach (var (s, name) in sims.Zip(["no-cle", "cle"]))
            {
                var path = Path.Combine(folder, $"resnet18-{name}-int8.onnx");
                var export = QdqExport.Save(s.Sim, path, format);
                written.Add(path);
                console.MarkupLine($"{Markup.Escape(s.Label)}: {export.Weights} int8 weights → {Markup.Escape(path)} ({(double)export.FloatBytes / export.QuantizedBytes:F2}× smaller)");
            }

            Step(console, "13. the report");
            var reportPath = Path.Combine(folder, "report.html");
            var document = new ReportDocument("SharpQuant demo: the default ResNet18",
                $"BatchNorm folded, equalized (CLE), int8 simulated without and with CLE, {(data is null ? "data-free ranges" : "calibrated and evaluated on photos")}", sections)
            {
                Facts =
                [
                    new("data", data?.Describe() ?? "none (data-free); sharpquant demo --images DIR calibrates and evaluates"),
                    new("written", DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)),
                ],
            };
            HtmlReportWriter.Write(document, reportPath);
            written.Add(reportPath);
            console.MarkupLine($"wrote [bold]{Markup.Escape(reportPath)}[/] ({new FileInfo(reportPath).Length / 1024.0:F0} KiB): open it in a browser");

            Step(console, "done");
            console.MarkupLine($"{written.Count} files:");
            foreach (var file in written)
            {
                console.MarkupLine($"  {Markup.Escape(file)}");
            }
            console.MarkupLine($"total time {clock.Elapsed.TotalSeconds:F1} s");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static void Step(IAnsiConsole console, string title) => console.Write(new Rule($"[bold]{Markup.Escape(title)}[/]").LeftJustified());

    private static string Save(Graph graph, string path)
    {
        OnnxModel.Save(graph, path);
        return path;
    }

    private static ReportFigure Figure(string path, string caption) => new(File.ReadAllBytes(path), caption);
}
