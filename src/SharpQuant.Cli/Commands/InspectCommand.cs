using System.CommandLine;
using System.Globalization;
using SharpQuant.Analysis;
using SharpQuant.IO;
using SharpQuant.Onnx;
using Spectre.Console;

namespace SharpQuant.Cli.Commands;

/// <summary><c>sharpquant inspect [MODEL] [--tabular] [--json]</c>: what a model is made of, and what its output is (a classifier's class count, a feature extractor's dimensions).</summary>
public static class InspectCommand
{
    public static Command Create(CliContext context)
    {
        var model = ModelArgument.Create();
        var tabular = new Option<bool>("--tabular") { Description = "Also print the graph table (opcode, name, target, args, kwargs)" };
        var json = new Option<bool>("--json") { Description = "Print the summary (and table) as JSON" };
        var command = new Command("inspect", "Summarize a model: inputs, outputs, op counts, parameters, opset, producer") { model, tabular, json };
        command.SetAction(parse => context.Runner.Run(parse, () =>
        {
            var path = ModelArgument.Resolve(parse.GetValue(model));
            var graph = OnnxModel.Load(path);
            var summary = GraphSummary.Of(graph);
            var output = ModelOutput.Of(graph);
            if (parse.GetValue(json))
            {
                var rows = parse.GetValue(tabular) ? GraphTable.Rows(graph) : null;
                context.Out.WriteLine(JsonOutput.Serialize(new { model = path, summary, output = OutputJson.Of(output), graph = rows }));
                return ExitCodes.Ok;
            }
            WriteSummary(context.Out, path, summary, output);
            if (parse.GetValue(tabular))
            {
                context.Out.WriteLine();
                context.Out.Write(GraphTable.Format(GraphTable.Rows(graph), totalWidth: TerminalWidth.Of(context.Out)));
            }
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static void WriteSummary(TextWriter text, string path, GraphSummary s, ModelOutput output)
    {
        var console = ConsoleFor(text);
        var facts = new Grid().AddColumn().AddColumn();
        facts.AddRow("[bold]model[/]", Safe(path));
        facts.AddRow("[bold]producer[/]", Safe(s.Producer));
        facts.AddRow("[bold]IR version[/]", s.IrVersion.ToString(CultureInfo.InvariantCulture));
        facts.AddRow("[bold]opsets[/]", Safe(string.Join(", ", s.Opsets.Select(o => $"{o.Key} {o.Value}"))));
        facts.AddRow("[bold]nodes[/]", s.NodeCount.ToString(CultureInfo.InvariantCulture));
        facts.AddRow("[bold]model kind[/]", Safe(output.Summary + (s.Outputs.Count > 1 ? $" (the first output, {output.Name})" : "")));
        facts.AddRow("[bold]parameters[/]", $"{s.ParameterCount.ToString("N0", CultureInfo.InvariantCulture)} ({s.ParameterBytes / 1048576.0:F1} MiB)");
        console.Write(facts);

        var io = new Table().Title("inputs and outputs").AddColumns("kind", "name", "type", "shape");
        foreach (var i in s.Inputs)
        {
            io.AddRow("input", Safe(i.Name), Safe(i.ElementType), Safe(i.Shape));
        }
        foreach (var o in s.Outputs)
        {
            io.AddRow("output", Safe(o.Name), Safe(o.ElementType), Safe(o.Shape));
        }
        console.Write(io);

        var ops = new Table().Title("op counts").AddColumns("op", "count");
        foreach (var (op, count) in s.OpCounts)
        {
            ops.AddRow(Safe(op), count.ToString(CultureInfo.InvariantCulture));
        }
        console.Write(ops);
        foreach (var unknown in s.UnknownOps)
        {
            console.MarkupLine($"[yellow]warning:[/] op {Safe(unknown)} is unknown to SharpQuant; inspection works, transformations will refuse it");
        }
    }

    // Names come from the file: control characters escaped for the terminal, then brackets for Spectre's markup.
    private static string Safe(string text) => Markup.Escape(TerminalText.Escape(text));

    internal static IAnsiConsole ConsoleFor(TextWriter output) => ConsoleOutput.For(output);
}
