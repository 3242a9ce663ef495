using System.CommandLine;
using System.Diagnostics;
using SharpQuant.Analysis;
using SharpQuant.Autodiff;
using SharpQuant.Data;
using SharpQuant.Passes;
using SharpQuant.Plots;
using SharpQuant.Quantization;
using Spectre.Console;

namespace SharpQuant.Cli.Commands;

/// <summary>
/// <c>sharpquant plot boxplots|histograms [MODEL]</c>: per-output-channel weight boxplots (optionally beside another
/// model's, same value scale), and histograms on the quantization grid of the weights (integer scale) and, with
/// <c>--images</c>, of the activations after calibrating on those images. BatchNorm is folded first: the weights
/// drawn are the ones a quantizer sees.
/// </summary>
public static class PlotCommand
{
    public const string DefaultFolder = "sharpquant-plots";

    public static Command Create(CliContext context) => new("plot", "Draw per-channel weight boxplots or histograms on the quantization grid")
    {
        CreateBoxplots(context),
        CreateHistograms(context),
        CreateSensitivity(context),
    };

    private static Option<string[]> LayerOption() => new("--layer")
    {
        Description = "Only these layers (module names; globs such as stage2.* work); default: all",
        AllowMultipleArgumentsPerToken = true,
    };

    private static Option<string> OutOption() => new("--output", "-o") { Description = $"Folder for the images (default: {DefaultFolder})", DefaultValueFactory = _ => DefaultFolder };

    private static Command CreateBoxplots(CliContext context)
    {
        var model = ModelArgument.Create();
        var layer = LayerOption();
        var compare = new Option<string>("--compare") { Description = "A second model (for example the output of sharpquant equalize): each layer drawn above the same layer of this one, same value scale" };
        var label = new Option<string>("--label") { Description = "How the titles name MODEL (default: its file name)" };
        var compareLabel = new Option<string>("--compare-label") { Description = "How the titles name the --compare model (default: its file name)" };
        var outDir = OutOption();
        var command = new Command("boxplots", "Per-output-channel weight boxplots of every layer (or --layer ones)") { model, layer, compare, label, compareLabel, outDir };
        command.SetAction(parse => context.Runner.Run(parse, () =>
        {
            var clock = Stopwatch.StartNew();
            var console = ConsoleOutput.For(context.Out);
            var path = ModelArgument.Resolve(parse.GetValue(model));
            var folder = parse.GetValue(outDir)!;
            var selection = new LayerSelection(parse.GetValue(layer));
            var graph = ModelArgument.LoadBatchable(path).FoldBatchNorm();
            var names = ChannelBoxStats.WeightedLayers(graph).Select(n => n.ModuleName).ToList();
            selection.RequireEachMatches(names, "layer with a weight");
            var firstLabel = parse.GetValue(label) ?? Path.GetFileName(path);
            IReadOnlyList<string> written;
            if (parse.GetValue(compare) is { } otherPath)
            {
                var other = ModelArgument.LoadBatchable(otherPath).FoldBatchNorm();
                var otherNames = ChannelBoxStats.WeightedLayers(other).Select(n => n.ModuleName).ToHashSet();
                var missing = names.Where(n => selection.Matches(n) && !otherNames.Contains(n)).ToList();
                if (missing.Count == names.Count(selection.Matches))
                {
                    throw new SharpQuantException($"'{otherPath}' has none of the selected layers of '{path}' (module names differ)");
                }
                foreach (var m in missing)
                {
                    context.Error.WriteLine($"warning: '{otherPath}' has no layer '{m}'; it is not drawn");
                }
                written = ModelFigures.WriteBoxplotComparisons(graph, firstLabel, other, parse.GetValue(compareLabel) ?? Path.GetFileName(otherPath), folder, n => selection.Matches(n.ModuleName));
            }
            else
            {
                written = ModelFigures.WriteBoxplots(graph, folder, firstLabel, n => selection.Matches(n.ModuleName));
            }
            WriteList(console, written, clock);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command CreateHistograms(CliContext context)
    {
        var model = ModelArgument.Create();
        var layer = LayerOption();
        var outDir = OutOption();
        var data = DataOptions.Create("Also draw activation histograms: calibrate on these images and stream them through the simulation", tensors: false);
        var count = new Option<int?>("--count") { Description = "Use only the first N images of --images (default: all)" };
        var batch = new Option<int>("--batch") { Description = "Images per batch", DefaultValueFactory = _ => 8 };
        var weights = QuantOptions.WeightGranularity();
        var wbits = QuantOptions.WeightBits("Weight bits (2-16)");
        var observer = QuantOptions.Observer();
        var compare = new Option<string>("--compare") { Description = "Not for histograms: draw two models' boxplots side by side with plot boxplots --compare", Hidden = true };
        var command = new Command("histograms", "Weight histograms on the integer grid (and activation histograms with --images), 5 bins per quantization step")
        {
            model, layer, count, batch, weights, wbits, observer, compare, outDir,
        };
        data.AddTo(command);
        command.SetAction(parse => context.Runner.Run(parse, () =>
        {
            var clock = Stopwatch.StartNew();
            var console = ConsoleOutput.For(context.Out);
            if (parse.GetValue(compare) is not null)
            {
                throw new UsageException("--compare is for boxplots (sharpquant plot boxplots MODEL --compare OTHER.onnx)");
            }
            CheckGridOptions(parse, wbits);
            if (data.ImageFolder(parse) is null && parse.GetValue(count) is not null)
            {
                throw new UsageException("--count limits the --images folder");
            }
            var path = ModelArgument.Resolve(parse.GetValue(model));
            var folder = parse.GetValue(outDir)!;
            var selection = new LayerSelection(parse.GetValue(layer));
            var graph = ModelArgument.LoadBatchable(path);
            // The preset fits the model's input; the folder is checked before any model work.
            using var given = data.Open(parse, graph, path, parse.GetValue(batch), split: null, seed: 0, includeFlips: false);
            var images = given?.Images;
            graph = graph.FoldBatchNorm();
            var config = GridConfig(parse, observer, wbits, weights);
            var sim = QuantSim.Prepare(graph, new QConfigMapping().SetGlobal(config));
            var candidates = sim.Quantizers.Where(q => q.Kind == QuantizerKind.Weight || images is not null).Select(q => q.Target).ToList();
            selection.RequireEachMatches(candidates, images is null ? "layer with a weight" : "layer or activation");

            var written = new List<string>(ModelFigures.WriteWeightHistograms(sim, folder, q => selection.Matches(q.Target)));
            if (images is not null)
            {
                var limit = parse.GetValue(count);
                var totalBatches = ExpectedBatches(images, limit);
                SimCalibration.WithProgress(console, sim, Limit(images.Batches(), limit), totalBatches);
                var histograms = SimCalibration.Track(console, "activation histograms", totalBatches, progress =>
                    ActivationHistograms.Collect(sim, Limit(images.Batches(), limit), q => selection.Matches(q.Target), progress: progress, totalBatches: totalBatches));
                SkippedImageWarnings.Write(context.Error, images.SkippedImages);
                var used = limit is { } l ? Math.Min(l, images.Samples.Count) : images.Samples.Count;
                console.MarkupLine($"calibrated ({Markup.Escape(config.Activation!.Describe())}) and measured activations on {used} image{(used == 1 ? "" : "s")}");
                written.AddRange(ModelFigures.WriteActivationHistograms(histograms, folder, $"{used} image{(used == 1 ? "" : "s")}"));
            }
            WriteList(console, written, clock);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command CreateSensitivity(CliContext context)
    {
        var model = ModelArgument.Create();
        var layer = LayerOption();
        var outDir = OutOption();
        var data = DataOptions.Create("Images to calibrate on and to backpropagate the model output of (required)", tensors: false);
        var count = new Option<int?>("--count") { Description = "Use only the first N images of --images (default: all)" };
        var batch = new Option<int>("--batch") { Description = "Images per batch", DefaultValueFactory = _ => 8 };
        var weights = QuantOptions.WeightGranularity();
        var wbits = QuantOptions.WeightBits("Weight bits (2-16)");
        var observer = QuantOptions.Observer();
        var gradientOf = new Option<string>("--gradient-of")
        {
            Description = "What is backpropagated: sum (the sum of every output), top1 (each sample's largest output), " +
                "or auto (top1 for a model ending in Softmax, whose outputs always sum to 1; else sum)",
            DefaultValueFactory = _ => "auto",
        };
        gradientOf.AcceptOnlyFromAmong("auto", "sum", "top1");
        var command = new Command("sensitivity",
            "Weight and activation histograms on the quantization grid with the gradient of the model output summed into each bin (sensitivity overlay)")
        {
            model, layer, count, batch, weights, wbits, observer, gradientOf, outDir,
        };
        data.AddTo(command);
        command.SetAction(parse => context.Runner.Run(parse, () =>
        {
            var clock = Stopwatch.StartNew();
            var console = ConsoleOutput.For(context.Out);
            CheckGridOptions(parse, wbits);
            var path = ModelArgument.Resolve(parse.GetValue(model));
            var folder = parse.GetValue(outDir)!;
            var selection = new LayerSelection(parse.GetValue(layer));
            if (data.ImageFolder(parse) is null)
            {
                throw new UsageException("plot sensitivity needs --images DIR");
            }
            var graph = ModelArgument.LoadBatchable(path);
            // The preset fits the model's input; the folder is checked before any model work.
            using var given = data.Open(parse, graph, path, parse.GetValue(batch), split: null, seed: 0, includeFlips: false)!;
            var images = given.Images!;
            graph = graph.FoldBatchNorm();
            var config = GridConfig(parse, observer, wbits, weights);
            var sim = QuantSim.Prepare(graph, new QConfigMapping().SetGlobal(config));
            selection.RequireEachMatches(sim.Quantizers.Select(q => q.Target).ToList(), "layer or activation");
            var seed = parse.GetValue(gradientOf) switch
            {
                "top1" => SeedKind.Top1,
                "sum" => SeedKind.Sum,
                _ => SensitivityAnalysis.DefaultSeed(graph),
            };

            var limit = parse.GetValue(count);
            var totalBatches = ExpectedBatches(images, limit);
            SimCalibration.WithProgress(console, sim, Limit(images.Batches(), limit), totalBatches);
            var sensitivity = SimCalibration.Track(console, "backpropagating", totalBatches, progress =>
                SensitivityAnalysis.Run(sim, Limit(images.Batches(), limit), seed, q => selection.Matches(q.Target), progress: progress, totalBatches: totalBatches));
            SkippedImageWarnings.Write(context.Error, images.SkippedImages);
            var used = sensitivity.Samples;
            console.MarkupLine($"calibrated ({Markup.Escape(config.Activation!.Describe())}) and backpropagated {Markup.Escape(sensitivity.DescribeTarget())} " +
                $"on {used} image{(used == 1 ? "" : "s")}: {Markup.Escape(sensitivity.DescribeGradient())}");
            var written = ModelFigures.WriteSensitivityHistograms(sensitivity, folder, $"{used} image{(used == 1 ? "" : "s")}");
            WriteList(console, written, clock);
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>The first <paramref name="limit"/> samples of a batch stream (the last batch cut if needed).</summary>
    internal static IEnumerable<Tensor> Limit(IEnumerable<Tensor> batches, int? limit)
    {
        var left = limit ?? int.MaxValue;
        foreach (var batch in batches)
        {
            var n = (int)batch.Shape[0];
            if (n <= left)
            {
                yield return batch;
            }
            else
            {
                var perSample = (int)(batch.ElementCount / n);
                var shape = batch.Shape.ToArray();
                shape[0] = left;
                yield return Tensor.FromFloats(batch.Floats[..(left * perSample)].ToArray(), shape);
            }
            left -= n;
            if (left <= 0)
            {
                yield break;
            }
        }
    }

    /// <summary>The weight bits histograms and sensitivity share, checked the same way (counts are checked by NumericOptions).</summary>
    private static void CheckGridOptions(ParseResult parse, Option<int> wbits)
    {
        if (parse.GetValue(wbits) is < 2 or > 16)
        {
            throw new UsageException("--wbits takes 2 to 16 bits");
        }
    }

    /// <summary>The default int8 qconfig with the command's observer, weight bits and granularity.</summary>
    private static QConfig GridConfig(ParseResult parse, Option<string> observer, Option<int> wbits, Option<string> weights) => QConfig.Default with
    {
        Activation = QuantSpec.FakeQuantAct with { Observer = QuantizeCommand.ParseObserver(parse.GetValue(observer)!) },
        Weight = QuantSpec.FakeQuantWeight with { Bits = parse.GetValue(wbits), Axis = parse.GetValue(weights) == "per-channel" ? 0 : null },
    };

    /// <summary>Batches of the folder once <paramref name="limit"/> samples at most are taken.</summary>
    private static int ExpectedBatches(ImageBatches data, int? limit)
    {
        var samples = Math.Min(limit ?? int.MaxValue, data.ExpectedSamples);
        return Math.Max(1, (samples + data.BatchSize - 1) / data.BatchSize);
    }

    private static void WriteList(IAnsiConsole console, IReadOnlyList<string> written, Stopwatch clock)
    {
        foreach (var file in written)
        {
            console.WriteLine(file);
        }
        console.MarkupLine($"wrote {written.Count} image{(written.Count == 1 ? "" : "s")} in {clock.Elapsed.TotalSeconds:F1} s");
    }
}
