using System.CommandLine;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using Spectre.Console;

namespace SharpQuant.Cli.Commands;

/// <summary><c>sharpquant fold [MODEL] -o OUT</c>: fold BatchNorm into the layers before it.</summary>
public static class FoldCommand
{
    public static Command Create(CliContext context)
    {
        var model = ModelArgument.Create();
        var output = new Option<string>("--output", "-o") { Description = "Where to write the folded model", Required = true };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON" };
        var command = new Command("fold", "Fold BatchNormalization into the preceding Conv, ConvTranspose, Gemm or MatMul") { model, output, json };
        command.SetAction(parse => context.Runner.Run(parse, () =>
        {
            var path = ModelArgument.Resolve(parse.GetValue(model));
            var outPath = OutputPath.Check(parse.GetValue(output)!, path);
            var graph = ModelArgument.LoadForEditing(path);
            var result = new FoldBatchNorm().Run(graph);
            OnnxModel.Save(result.Graph, outPath);
            if (parse.GetValue(json))
            {
                context.Out.WriteLine(JsonOutput.Serialize(new { model = path, output = outPath, result.Report.Folded, result.Report.Skipped }));
                return ExitCodes.Ok;
            }
            var console = ConsoleOutput.For(context.Out);
            WriteReport(console, result.Report);
            console.MarkupLine($"wrote [bold]{Markup.Escape(outPath)}[/]");
            return ExitCodes.Ok;
        }));
        return command;
    }

    public static void WriteReport(IAnsiConsole console, FoldReport report)
    {
        console.MarkupLine($"[bold]BatchNorm folding[/]: {report.Folded.Count} folded, {report.Skipped.Count} left in place");
        var table = new Table().AddColumns("BatchNorm", "folded into", "op");
        foreach (var f in report.Folded)
        {
            table.AddRow(Markup.Escape(f.BatchNorm), Markup.Escape(f.Layer), f.LayerOp);
        }
        foreach (var s in report.Skipped)
        {
            table.AddRow(Markup.Escape(s.BatchNorm), "[yellow]kept[/]", Markup.Escape(s.Reason));
        }
        console.Write(table);
    }
}
