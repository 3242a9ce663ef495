using System.CommandLine;
using System.Diagnostics;
using SharpQuant.Analysis;
using SharpQuant.Data;
using SharpQuant.IO;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Runtime;
using Spectre.Console;

namespace SharpQuant.Cli.Commands;

/// <summary>
/// <c>sharpquant sensitivity [MODEL] (--images DIR | --text-orientation N)</c>: fold BatchNorm, quantize with the
/// default qconfig for this CPU, calibrate on the data, and measure each layer's model-output SQNR with only that
/// layer quantized (weights only, activations only, both), worst first; with a target, keep the most sensitive
/// layers in float until the whole model meets it.
/// </summary>
public static class SensitivityCommand
{
    public static Command Create(CliContext context)
    {
        var model = ModelArgument.Create();
        var data = DataOptions.Create("Folder of images to calibrate and measure on");
        var textOrientation = new Option<int?>("--text-orientation") { Description = "Use N rendered text lines with orientation labels (0 upright, 1 turned) instead of images; MODEL must be the ppocr-cls classifier" };
        var seed = new Option<int>("--seed") { Description = QuantOptions.SeedDescription, DefaultValueFactory = _ => QuantOptions.DefaultSeed };
        var output = new Option<string>("--output", "-o") { Description = "Also write the table (and the accuracy-aware steps) as JSON to this file" };
        var modes = new Option<string>("--modes") { Description = "What to measure per layer, comma-separated: weights, activations, both (each costs one session build per layer)", DefaultValueFactory = _ => "weights,activations,both" };
        var layers = new Option<string[]>("--layer") { Description = "Only rows whose name matches these globs (stage4.*); repeatable", AllowMultipleArgumentsPerToken = true };
        var weights = QuantOptions.WeightGranularity();
        var wbits = new Option<int?>("--wbits") { Description = "Weight bits (2-16; default: 8, or 7 where this CPU reduces range)" };
        var batch = new Option<int>("--batch") { Description = "Images per batch", DefaultValueFactory = _ => 8 };
        var targetSqnr = new Option<double?>("--target-sqnr") { Description = "Keep the most sensitive layers in float until the model-output SQNR reaches DB" };
        var maxDrop = new Option<double?>("--max-accuracy-drop") { Description = "Keep the most sensitive layers in float until top-1 accuracy is at most POINTS below float (needs --text-orientation)" };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var command = new Command("sensitivity", "Per-layer quantization sensitivity, and which layers to keep in float for a target")
        {
            model, textOrientation, seed, output, modes, layers, weights, wbits, batch, targetSqnr, maxDrop, json,
        };
        data.AddTo(command);
        command.SetAction(parse => context.Runner.Run(parse, () =>
        {
            var clock = Stopwatch.StartNew();
            var given = parse.GetValue(model);
            var path = ModelArgument.Resolve(given);
            var outPath = parse.GetValue(output) is { } o ? OutputPath.Check(o, path, data.ImageFolder(parse), data.TensorFolder(parse)) : null;
            var asJson = parse.GetValue(json);
            var console = ConsoleOutput.For(asJson ? context.Error : context.Out);
            var selected = ParseModes(parse.GetValue(modes)!);
            var hasData = data.HasData(parse);
            var lines = parse.GetValue(textOrientation);
            var target = parse.GetValue(targetSqnr) is null && parse.GetValue(maxDrop) is null ? null : new QualityTarget(parse.GetValue(targetSqnr), parse.GetValue(maxDrop));
            if (hasData == lines is not null)
            {
                throw new UsageException("give either --images DIR, --inputs DIR or --text-orientation N");
            }
            if (lines is not null && string.IsNullOrWhiteSpace(given))
            {
                throw new UsageException("--text-orientation needs the ppocr-cls classifier as MODEL");
            }
            if (parse.GetValue(maxDrop) is not null && lines is null)
            {
                throw new UsageException("--max-accuracy-drop needs labels: use --text-orientation N");
            }
            if (parse.GetValue(wbits) is { } wb && wb is < 2 or > 16)
            {
                throw new UsageException("--wbits takes 2 to 16 bits");
            }
            target = target?.Validated();

            // The opset upgrade behind the lowering follows ranks through FakeQuant and MatMul itself, so models
            // without recorded intermediate shapes (Paddle's) need no shape inference here.
            var graph = ModelArgument.LoadBatchable(path);
            // The data is read before any model work, and kept because every configuration runs it.
            List<Tensor> batches;
            List<int[]>? labels = null;
            if (hasData)
            {
                using var fed = data.Open(parse, graph, path, parse.GetValue(batch), split: null, seed: 0, includeFlips: false)!;
                batches = fed.SingleInputBatches().ToList();
                console.MarkupLine($"data: {Markup.Escape(fed.Source.Describe())}; {Markup.Escape(fed.Preprocessing)}");
                SkippedImageWarnings.Write(context.Error, fed.Source.Skipped);
            }
            else
            {
                using var dataset = new TextOrientationDataset(parse.GetValue(seed), lines!.Value);
                var textBatches = dataset.Batches(parse.GetValue(batch)).ToList();
                batches = textBatches.Select(b => b.Images).ToList();
                labels = textBatches.Select(b => b.Labels).ToList();
            }
            graph = graph.FoldBatchNorm();
            var format = IntegerFormat.ForThisCpu();
            var config = format.Apply(QConfig.Default);
            config = config with
            {
                Weight = config.Weight! with
                {
                    Axis = parse.GetValue(weights) == "per-channel" ? 0 : null,
                    Bits = parse.GetValue(wbits) ?? config.Weight!.Bits,
                },
            };
            var sim = QuantSim.Prepare(graph, new QConfigMapping().SetGlobal(config));
            sim.Calibrate(batches);
            console.MarkupLine($"calibrated on {batches.Sum(b => b.Shape[0])} samples; integer format [bold]{format.Name}[/] ({Markup.Escape(format.Reason)}); weights {Markup.Escape(config.Weight!.Describe())}");

            using var sensitivity = new LayerSensitivity(sim, graph, batches, labels);
            var table = Measure(console, sensitivity, new SensitivityOptions { Modes = selected, Layers = parse.GetValue(layers) is { Length: > 0 } l ? l : null });
            AccuracyAwareResult? result = null;
            if (target is not null)
            {
                result = sensitivity.KeepFloatUntil(table, target);
            }
            var document = new
            {
                model = path,
                data = data.ImageFolder(parse) ?? data.TensorFolder(parse) ?? $"text-orientation seed {parse.GetValue(seed)} × {lines}",
                format = format.Name,
                weights = config.Weight!.Describe(),
                floatTop1 = sensitivity.FloatAccuracy?.Top1,
                table,
                accuracyAware = result,
            };
            if (outPath is not null)
            {
                AtomicFile.WriteAllText(outPath, JsonOutput.Serialize(document));
            }
            if (asJson)
            {
                context.Out.WriteLine(JsonOutput.Serialize(document));
            }
            else
            {
                WriteTable(console, table);
                if (result is not null)
                {
                    WriteSteps(console, result);
                }
            }
            console.MarkupLine($"{table.Configurations} configurations in {clock.Elapsed.TotalSeconds:F1} s{(outPath is null ? "" : $"; wrote [bold]{Markup.Escape(outPath)}[/]")}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    internal static SensitivityModes ParseModes(string text)
    {
        var modes = SensitivityModes.None;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            modes |= part switch
            {
                "weights" => SensitivityModes.Weights,
                "activations" => SensitivityModes.Activations,
                "both" => SensitivityModes.Both,
                "all" => SensitivityModes.All,
                _ => throw new UsageException($"unknown mode '{part}' in --modes (use weights, activations, both)"),
            };
        }
        return modes == SensitivityModes.None ? throw new UsageException("--modes needs at least one of weights, activations, both") : modes;
    }

    private static SensitivityTable Measure(IAnsiConsole console, LayerSensitivity sensitivity, SensitivityOptions options)
    {
        SensitivityTable? table = null;
        console.ProgressBar()
            .Start(ctx =>
            {
                var task = ctx.AddTask("measuring");
                table = sensitivity.Measure(options with { Progress = new Progress(task) });
                task.Value = task.MaxValue;
            });
        return table!;
    }

    private static string Db(double? db) => db is { } v ? EvaluateCommand.FormatDb(v) : "–";

    private static void WriteTable(IAnsiConsole console, SensitivityTable table)
    {
        console.MarkupLine($"whole model: all quantized {Db(table.AllQuantizedSqnrDb)} dB, weights only {Db(table.AllWeightsSqnrDb)} dB, activations only {Db(table.AllActivationsSqnrDb)} dB ({table.Samples} samples)");
        var t = new Table().AddColumns("layer", "SQNR dB weights only", "activations only", "both");
        foreach (var r in table.Rows)
        {
            t.AddRow(Markup.Escape(r.Layer), Db(r.WeightsSqnrDb), Db(r.ActivationsSqnrDb), Db(r.BothSqnrDb));
        }
        console.Write(t);
    }

    private static void WriteSteps(IAnsiConsole console, AccuracyAwareResult result)
    {
        var t = new Table().AddColumns("kept in float", "SQNR dB", "top-1", "drop (points)", "meets target");
        foreach (var s in result.Steps)
        {
            t.AddRow(
                Markup.Escape(s.FloatLayer ?? "(none: all quantized)"),
                Db(s.SqnrDb),
                s.Top1 is { } top1 ? $"{100 * top1:F1} %" : "–",
                s.AccuracyDropPoints is { } d ? $"{d:F1}" : "–",
                s.Met ? "yes" : "no");
        }
        console.Write(t);
        console.MarkupLine(result.Met
            ? $"target {Markup.Escape(result.Target.Describe())} met with {result.FloatLayers.Count} layer{(result.FloatLayers.Count == 1 ? "" : "s")} in float: {Markup.Escape(string.Join(", ", result.FloatLayers))}"
            : $"[yellow]target {Markup.Escape(result.Target.Describe())} not met[/] even with every measured layer in float");
    }

    // Synchronous on purpose: System.Progress<T> would post to the thread pool and report late or out of order.
    private sealed class Progress(ProgressTask task) : IProgress<(int Done, int Total)>
    {
        public void Report((int Done, int Total) value)
        {
            task.MaxValue = value.Total;
            task.Value = value.Done;
        }
    }
}
