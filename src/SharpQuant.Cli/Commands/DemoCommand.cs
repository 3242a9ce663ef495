using System.CommandLine;
using System.Diagnostics;
using SharpQuant.Models;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using Spectre.Console;

namespace SharpQuant.Cli.Commands;

/// <summary>
/// <c>sharpquant demo [--out DIR]</c>: the tutorial's flow on the default ResNet18, as far as SharpQuant goes today:
/// load, the first rows of the graph table, BatchNorm folding, the equalization sets and cross-layer equalization,
/// with the folded and equalized models written to the output folder.
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

            console.Write(new Rule("[bold]done[/]").LeftJustified());
            console.MarkupLine($"wrote {Markup.Escape(foldedPath)} and {Markup.Escape(equalizedPath)}");
            console.MarkupLine("[grey]quantization, evaluation, plots and the report join this demo as they land (see the README's roadmap)[/]");
            console.MarkupLine($"total time {clock.Elapsed.TotalSeconds:F1} s");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
