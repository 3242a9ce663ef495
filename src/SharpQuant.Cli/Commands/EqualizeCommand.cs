using System.CommandLine;
using System.Globalization;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using Spectre.Console;

namespace SharpQuant.Cli.Commands;

/// <summary>
/// <c>sharpquant equalize [MODEL] -o OUT</c>: fold BatchNorm, find the equalization sets, equalize them to
/// convergence and optionally absorb high biases; prints the sets, the skipped candidates and the range spreads.
/// </summary>
public static class EqualizeCommand
{
    public static Command Create(CliContext context)
    {
        var model = ModelArgument.Create();
        var output = new Option<string>("--output", "-o") { Description = "Where to write the equalized model", Required = true };
        var ranges = new Option<string>("--ranges") { Description = "Channel range: max-abs (DFQ paper) or max-min (PyTorch _equalize)", DefaultValueFactory = _ => "max-abs" };
        ranges.AcceptOnlyFromAmong("max-abs", "max-min");
        var threshold = new Option<double>("--threshold") { Description = "Convergence threshold on the summed weight change of a sweep", DefaultValueFactory = _ => 1e-4 };
        var maxSweeps = new Option<int>("--max-sweeps") { Description = "Give up after this many sweeps", DefaultValueFactory = _ => 100 };
        var relu6 = new Option<string>("--relu6") { Description = "ReLU6 between layers: exact (ReLU and a per-channel bound; the default, the float model is kept), skip (leave those layers unequalized) or replace (by ReLU; changes the model)", DefaultValueFactory = _ => "exact" };
        relu6.AcceptOnlyFromAmong("skip", "replace", "exact");
        var absorb = new Option<bool>("--absorb-bias") { Description = "Absorb high biases into the next layer (from BatchNorm statistics)" };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON" };
        var command = new Command("equalize", "Cross-layer equalization (with BatchNorm folding first)") { model, output, ranges, threshold, maxSweeps, relu6, absorb, json };
        command.SetAction(parse => context.Runner.Run(parse, () =>
        {
            var path = ModelArgument.Resolve(parse.GetValue(model));
            var outPath = OutputPath.Check(parse.GetValue(output)!, path);
            if (parse.GetValue(maxSweeps) < 1 || parse.GetValue(threshold) <= 0)
            {
                throw new UsageException("--max-sweeps must be at least 1 and --threshold positive");
            }
            var options = new EqualizationOptions
            {
                Ranges = parse.GetValue(ranges) == "max-min" ? RangeMode.MaxMin : RangeMode.MaxAbs,
                Threshold = parse.GetValue(threshold),
                MaxSweeps = parse.GetValue(maxSweeps),
                Relu6 = parse.GetValue(relu6) switch { "replace" => Relu6Mode.Replace, "skip" => Relu6Mode.Skip, _ => Relu6Mode.Exact },
            };
            var graph = ModelArgument.Load(path);
            var folded = new FoldBatchNorm().Run(graph);
            var equalized = new EqualizeCrossLayer(options).Run(folded.Graph);
            var final = equalized.Graph;
            AbsorbReport? absorbed = null;
            if (parse.GetValue(absorb))
            {
                var result = new AbsorbHighBias().Run(final);
                absorbed = result.Report;
                final = result.Graph;
            }
            OnnxModel.Save(final, outPath);
            if (parse.GetValue(json))
            {
                var r = equalized.Report;
                context.Out.WriteLine(JsonOutput.Serialize(new
                {
                    model = path,
                    output = outPath,
                    fold = folded.Report,
                    sets = r.Sets.Select(s => new { layers = s.Set.Names, triple = s.Set.IsTriple, spreads = s.Spreads }),
                    rejected = r.Discovery.Rejected,
                    r.Sweeps,
                    r.FinalChange,
                    r.Converged,
                    r.DeadChannels,
                    elapsedMs = r.Elapsed.TotalMilliseconds,
                    r.ModelChanges,
                    absorbed,
                }));
                return ExitCodes.Ok;
            }
            var console = ConsoleOutput.For(context.Out);
            console.MarkupLine($"[bold]BatchNorm folding[/]: {folded.Report.Folded.Count} folded, {folded.Report.Skipped.Count} left in place");
            WriteReport(console, equalized.Report);
            if (absorbed is not null)
            {
                console.MarkupLine($"[bold]bias absorption[/]: {absorbed.Absorbed.Count} pairs, {absorbed.Skipped.Count} skipped");
                SkipReasons.Write(console, absorbed.Skipped.Select(s => new SkipReason(s.Layer, $"skipped {s.Path}", s.Reason)));
            }
            console.MarkupLine($"wrote [bold]{Markup.Escape(outPath)}[/]");
            return ExitCodes.Ok;
        }));
        return command;
    }

    public static void WriteReport(IAnsiConsole console, EqualizeReport report)
    {
        var d = report.Discovery;
        console.MarkupLine($"[bold]equalization sets[/]: {d.PairCount} pairs, {d.TripleCount} depthwise triples");
        console.WriteLine(d.FormatSets());
        var table = new Table().AddColumns("set", "layer", "spread before", "spread after");
        var i = 0;
        foreach (var s in report.Sets)
        {
            i++;
            foreach (var spread in s.Spreads)
            {
                table.AddRow(i.ToString(CultureInfo.InvariantCulture), Markup.Escape(spread.Layer), F(spread.Before), F(spread.After));
            }
        }
        console.Write(table);
        console.MarkupLine($"[bold]not equalized[/] ({d.Rejected.Count}):");
        SkipReasons.Write(console, d.Rejected.Select(r => new SkipReason(r.Layer, r.Path, r.Reason)));
        if (report.DeadChannels > 0)
        {
            console.MarkupLine($"{report.DeadChannels} dead channels kept at factor 1 (weight range at most {EqualizeCrossLayer.DeadChannelRelativeRange:G2} of the layer's largest)");
        }
        foreach (var change in report.ModelChanges)
        {
            console.MarkupLine($"[yellow]model change:[/] {Markup.Escape(change)}");
        }
        console.MarkupLine(
            $"{(report.Converged ? "converged" : "[yellow]not converged[/]")} after {report.Sweeps} sweeps (last change {report.FinalChange:E2}) in {report.Elapsed.TotalMilliseconds:F1} ms");
    }

    private static string F(double v) => v.ToString("F1", CultureInfo.InvariantCulture);
}
