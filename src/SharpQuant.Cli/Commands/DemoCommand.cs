using System.CommandLine;
using System.Diagnostics;
using SharpQuant.Models;
using SharpQuant.Onnx;
using SharpQuant.Data;
using SharpQuant.Passes;
using SharpQuant.Quantization;
using Spectre.Console;

namespace SharpQuant.Cli.Commands;

/// <summary>
/// <c>sharpquant demo [--out DIR]</c>: the tutorial's flow on the default ResNet18, as far as SharpQuant goes today:
/// load, the first rows of the graph table, BatchNorm folding, the equalization sets and cross-layer equalization,
/// data-free int8 models without and with CLE, and one layer's weight scales without and with CLE; the models are
/// written to the output folder.
/// </summary>
public static class DemoCommand
{
    private const int TableRows = 12;

    public static Command Create(CliContext context)
    {
        var outDir = new Option<string>("--out") { Description = "Folder for the demo's outputs", DefaultValueFactory = _ => "sharpquant-demo" };
        var command = new Command("demo", "Run the whole flow on the default ResNet18") { outDir };
        command.SetAction(parse => context.Runner.Run(parse, () =>
        {
            var clock = Stopwatch.StartNew();
            var console = ConsoleOutput.For(context.Out);
            var folder = parse.GetValue(outDir)!;
            Directory.CreateDirectory(folder);

            console.Write(new Rule("[bold]1. load the default ResNet18[/]").LeftJustified());
            var graph = OnnxModel.Load(DefaultModels.ResNet18Path);
            var summary = GraphSummary.Of(graph);
            console.MarkupLine($"{Markup.Escape(DefaultModels.ResNet18Path)}: {summary.NodeCount} nodes, {summary.ParameterCount:N0} parameters, opset {graph.Info.OnnxOpset}, producer {Markup.Escape(summary.Producer)}");

            console.Write(new Rule("[bold]2. the graph (first rows)[/]").LeftJustified());
            var lines = graph.PrintTabular().Split('\n');
            foreach (var line in lines.Take(TableRows + 2))
            {
                console.WriteLine(line);
            }
            console.MarkupLine($"[grey]… {lines.Length - TableRows - 3} more rows: sharpquant inspect --tabular[/]");

            console.Write(new Rule("[bold]3. fold BatchNorm[/]").LeftJustified());
            var folded = new FoldBatchNorm().Run(graph);
            console.MarkupLine($"{folded.Report.Folded.Count} BatchNorms folded, {folded.Report.Skipped.Count} left in place");
            var foldedPath = Path.Combine(folder, "resnet18-folded.onnx");
            OnnxModel.Save(folded.Graph, foldedPath);

            console.Write(new Rule("[bold]4–5. find the layers to equalize, and equalize them[/]").LeftJustified());
            var equalized = new EqualizeCrossLayer().Run(folded.Graph);
            EqualizeCommand.WriteReport(console, equalized.Report);
            var equalizedPath = Path.Combine(folder, "resnet18-equalized.onnx");
            OnnxModel.Save(equalized.Graph, equalizedPath);

            console.Write(new Rule("[bold]6. quantize without images (data-free ranges from BatchNorm statistics)[/]").LeftJustified());
            using var preset = new ResNet18Preset();
            var written = new List<string> { foldedPath, equalizedPath };
            var sims = new Dictionary<string, QuantSim>();
            foreach (var (label, source) in new[] { ("no-cle", folded.Graph), ("cle", equalized.Graph) })
            {
                var sim = QuantSim.Prepare(source, new QConfigMapping().SetGlobal(IntegerFormat.ForThisCpu().Apply(QConfig.Default)));
                var ranges = DataFreeRanges.Apply(sim, preset.InputRange);
                var path = Path.Combine(folder, $"resnet18-{label}-int8.onnx");
                var export = QdqExport.Save(sim, path);
                written.Add(path);
                sims[label] = sim;
                console.MarkupLine($"{label}: {ranges.Ranges.Count} activation ranges, {export.Weights} int8 weights → {Markup.Escape(path)} ({(double)export.FloatBytes / export.QuantizedBytes:F2}× smaller)");
            }
            console.MarkupLine("[grey]evaluation needs images: sharpquant evaluate FLOAT.onnx QUANT.onnx --images DIR[/]");

            console.Write(new Rule("[bold]7. weight scales of stage2.block0.conv1, without and with CLE[/]").LeftJustified());
            foreach (var (label, sim) in sims)
            {
                var q = QParamsReport.Of(sim, "stage2.block0.conv1.weight_fake_quant").Single();
                console.WriteLine($"{label}: " + QParamsReport.Format(q with { Scale = q.Scale.Take(9).ToArray() }).Replace("(9 channels", $"(first 9 of {q.Scale.Length} channels", StringComparison.Ordinal));
            }

            console.Write(new Rule("[bold]done[/]").LeftJustified());
            console.MarkupLine($"wrote {string.Join(", ", written.Select(Markup.Escape))}");
            console.MarkupLine("[grey]plots and the HTML report are not part of the demo yet[/]");
            console.MarkupLine($"total time {clock.Elapsed.TotalSeconds:F1} s");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
