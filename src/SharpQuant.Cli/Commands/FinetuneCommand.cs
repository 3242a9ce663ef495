using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using SharpQuant.Data;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Training;
using Spectre.Console;

namespace SharpQuant.Cli.Commands;

/// <summary>
/// <c>sharpquant finetune MODEL --images DIR | --text-orientation N -o OUT.onnx</c>: quantize as <c>quantize</c> does
/// (fold BatchNorm, optionally equalize, calibrate min-max, optionally correct biases), then learn the quantizers'
/// scales (optionally zero points or weights) with Adam so the quantized model's outputs match the float model's on
/// the same samples (LSQ fine-tuning, <see cref="FineTuner"/>), with a progress bar showing the loss. Writes the
/// int8 QDQ model to OUT.onnx (where the bit widths have one) and the simulation as standard ONNX ops to
/// OUT.sim.onnx, which <c>evaluate</c> runs at any bit width.
/// </summary>
public static class FinetuneCommand
{
    /// <summary>
    /// The seed of the rendered training lines when none is given: 2, as the calibration lines of the README tables,
    /// so they never coincide with <c>evaluate --text-orientation</c>'s default evaluation lines (seed 1).
    /// </summary>
    public const int DefaultTextSeed = 2;

    public static Command Create(CliContext context)
    {
        var model = ModelArgument.Create();
        var data = DataOptions.Create("Folder of training images (JPEG, PNG, BMP, WebP): each whole and mirrored; no labels needed");
        var textOrientation = new Option<int?>("--text-orientation")
        {
            Description = "Instead of --images: train on N rendered text lines (for the ppocr-cls models; ppocr-cls preprocessing)",
        };
        // The data seed defaults to 2, not 1: training lines disjoint from the lines evaluate draws by default.
        var textSeed = new Option<int>("--seed")
        {
            Description = $"{QuantOptions.SeedDescription} (default {DefaultTextSeed}, so the training lines are not the lines evaluate draws by default)",
            DefaultValueFactory = _ => DefaultTextSeed,
        };
        var output = new Option<string>("--output", "-o") { Description = "Where to write the fine-tuned model (and OUT.sim.onnx beside it)", Required = true };
        var weights = QuantOptions.WeightGranularity();
        var wbits = QuantOptions.WeightBits();
        var abits = QuantOptions.ActivationBits();
        var observer = QuantOptions.Observer(description: "Activation observer of the starting point: minmax, moving-average, percentile, mse or entropy");
        var learn = new Option<string>("--learn")
        {
            Description = "What to learn, comma-separated: scales, zero-points (affine quantizers), weights",
            DefaultValueFactory = _ => "scales",
        };
        var loss = new Option<string>("--loss") { Description = "mse (of the logits) or kl (of the softmax of the logits)", DefaultValueFactory = _ => "mse" };
        loss.AcceptOnlyFromAmong("mse", "kl");
        var temperature = new Option<float>("--temperature") { Description = "Softmax temperature of --loss kl", DefaultValueFactory = _ => 1f };
        var defaults = new FineTuneOptions();
        var steps = new Option<int>("--steps") { Description = "Most optimizer steps (early stop may end sooner)", DefaultValueFactory = _ => defaults.Steps };
        var lr = new Option<float>("--lr") { Description = "Adam learning rate of scales, relative to each scale", DefaultValueFactory = _ => defaults.ScaleLearningRate };
        var weightLr = new Option<float>("--weight-lr")
        {
            Description = "Adam learning rate of weights, relative to their quantization step",
            DefaultValueFactory = _ => defaults.WeightLearningRate,
        };
        var batch = new Option<int>("--batch") { Description = "Samples per step", DefaultValueFactory = _ => defaults.BatchSize };
        var seed = new Option<int>("--order-seed") { Description = "Seed of the order the samples are drawn in: same seed, same result", DefaultValueFactory = _ => defaults.Seed };
        var patience = new Option<int>("--patience")
        {
            Description = "Stop after this many steps without progress of the smoothed loss (0: never)",
            DefaultValueFactory = _ => defaults.Patience,
        };
        var equalize = new Option<bool>("--equalize") { Description = "Cross-layer equalization before quantizing" };
        var biasCorrection = QuantOptions.BiasCorrection(
            "Bias correction before fine-tuning: empirical (on the training samples), analytic (from BatchNorm statistics) or none (the default: the fine-tuning learns against the float outputs itself)", "none");
        var command = new Command("finetune", "Learn quantization scales (LSQ) against the float model's outputs")
        {
            model, textOrientation, textSeed, output, weights, wbits, abits, observer, learn, loss, temperature, steps, lr, weightLr, batch, seed,
            patience, equalize, biasCorrection,
        };
        data.AddTo(command);
        command.SetAction(parse => context.Runner.Run(parse, () =>
        {
            var clock = Stopwatch.StartNew();
            var path = ModelArgument.Resolve(parse.GetValue(model));
            var outPath = OutputPath.Check(parse.GetValue(output)!, path, data.ImageFolder(parse), data.TensorFolder(parse));
            var simPath = SimulationPath(outPath);
            OutputPath.Check(simPath, path, data.ImageFolder(parse), data.TensorFolder(parse));
            var (wb, ab) = (parse.GetValue(wbits), parse.GetValue(abits));
            if (wb is < 2 or > 16 || ab is < 2 or > 16)
            {
                throw new UsageException("--wbits and --abits take 2 to 16 bits");
            }
            var options = new FineTuneOptions
            {
                Steps = parse.GetValue(steps),
                BatchSize = parse.GetValue(batch),
                Seed = parse.GetValue(seed),
                Learn = ParseLearn(parse.GetValue(learn)!),
                Loss = parse.GetValue(loss) == "kl" ? DistillationLossKind.Kl : DistillationLossKind.Mse,
                Temperature = parse.GetValue(temperature),
                ScaleLearningRate = parse.GetValue(lr),
                WeightLearningRate = parse.GetValue(weightLr),
                Patience = parse.GetValue(patience),
            };
            if (options.Steps < 1 || options.BatchSize < 1 || options.Patience < 0)
            {
                throw new UsageException("--steps and --batch take 1 or more, --patience 0 or more");
            }
            if (!(options.Temperature > 0) || !(options.ScaleLearningRate >= 0) || !(options.WeightLearningRate >= 0))
            {
                throw new UsageException("--temperature must be positive, --lr and --weight-lr 0 or more");
            }

            var textLines = parse.GetValue(textOrientation);
            var hasData = data.HasData(parse);
            if (textLines is not null && hasData)
            {
                throw new UsageException("--images or --inputs and --text-orientation exclude each other");
            }
            if (textLines is null && !hasData)
            {
                throw new UsageException("give --images DIR, --inputs DIR or --text-orientation N for the training samples");
            }
            if (textLines is not null && data.PresetGiven(parse) && parse.GetValue(data.Preset) != "ppocr-cls")
            {
                throw new UsageException("--text-orientation uses the ppocr-cls preprocessing");
            }
            var console = ConsoleOutput.For(context.Out);
            // The model is loaded before the samples are decoded or rendered, so a missing or broken file fails at once.
            var floatGraph = ModelArgument.LoadBatchable(path);
            var samples = LoadSamples(context, parse, data, floatGraph, path, textLines, parse.GetValue(textSeed), options.BatchSize, out var what);
            var graph = floatGraph.FoldBatchNorm();
            if (parse.GetValue(equalize))
            {
                graph = graph.Equalize(null, out var eq);
                console.MarkupLine($"equalized {eq.Sets.Count} sets in {eq.Sweeps} sweeps");
            }
            var integerFormat = IntegerFormat.ForThisCpu();
            var config = QuantizeCommand.Config(wb, ab, parse.GetValue(weights) == "per-channel", QuantizeCommand.ParseObserver(parse.GetValue(observer)!), integerFormat);
            var sim = QuantSim.Prepare(graph, new QConfigMapping().SetGlobal(config));
            SimCalibration.WithProgress(console, sim, samples, samples.Count);
            if (parse.GetValue(biasCorrection) is { } correction && correction != "none")
            {
                var report = correction == "analytic" ? BiasCorrection.Analytic(sim) : BiasCorrection.Empirical(sim, samples);
                console.MarkupLine($"{report.Method} bias correction: {report.Corrected.Count} layers corrected, {report.Skipped.Count} skipped");
            }
            sim.EnableParamLearning();
            var result = FineTune(console, sim, floatGraph, samples, options);

            var c = CultureInfo.InvariantCulture;
            console.MarkupLine(string.Create(c,
                $"fine-tuned {result.LearnedTensors} tensors ({result.LearnedValues} values, {Describe(options.Learn)}) on {Markup.Escape(what)}: " +
                $"{options.Loss.ToString().ToUpperInvariant()} loss [bold]{result.InitialLoss:G4} → {result.FinalLoss:G4}[/] in {result.Steps} steps " +
                $"({result.Epochs} epochs{(result.StoppedEarly ? ", stopped early: the loss stalled" : "")}, {result.Elapsed.TotalSeconds:F1} s)"));
            if (QuantizeCommand.ExportsInt8(wb, ab))
            {
                var report = QdqExport.Save(sim, outPath, integerFormat);
                console.MarkupLine($"[bold]int8 QDQ model[/]: {report.Weights} weights, {report.Activations} activations, {report.Biases} int32 biases, opset {report.Opset}");
            }
            else
            {
                OnnxModel.Save(FakeQuantLowering.Lower(sim.Graph), outPath);
                console.MarkupLine($"[yellow]w{wb}a{ab} has no int8 ONNX form[/]: {Markup.Escape(outPath)} holds the simulation (fake quantization as standard ONNX float ops)");
            }
            OnnxModel.Save(FakeQuantLowering.Lower(sim.Graph), simPath);
            console.MarkupLine($"wrote [bold]{Markup.Escape(outPath)}[/] and the simulation [bold]{Markup.Escape(simPath)}[/] in {clock.Elapsed.TotalSeconds:F1} s");
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>OUT.onnx → OUT.sim.onnx: the simulation beside the export.</summary>
    public static string SimulationPath(string output) =>
        string.Equals(Path.GetExtension(output), ".onnx", StringComparison.OrdinalIgnoreCase)
            ? Path.ChangeExtension(output, ".sim.onnx")
            : output + ".sim.onnx";

    internal static LearnedParts ParseLearn(string value)
    {
        var parts = LearnedParts.None;
        foreach (var part in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            parts |= part switch
            {
                "scales" => LearnedParts.Scales,
                "zero-points" => LearnedParts.ZeroPoints,
                "weights" => LearnedParts.Weights,
                _ => throw new UsageException($"--learn: unknown part '{part}'; use scales, zero-points and weights, comma-separated"),
            };
        }
        return parts == LearnedParts.None ? throw new UsageException("--learn needs at least one of scales, zero-points, weights") : parts;
    }

    private static string Describe(LearnedParts parts) =>
        string.Join(", ", new[] { (LearnedParts.Scales, "scales"), (LearnedParts.ZeroPoints, "zero points"), (LearnedParts.Weights, "weights") }
            .Where(p => parts.HasFlag(p.Item1)).Select(p => p.Item2));

    /// <summary>The training samples in memory: a calibration-sized set is small, and training passes over it many times.</summary>
    private static List<Tensor> LoadSamples(
        CliContext context, ParseResult parse, DataOptions data, Graph graph, string path, int? textLines, int textSeed, int batchSize, out string what)
    {
        if (textLines is { } lines)
        {
            using var set = new TextOrientationDataset(textSeed, lines);
            what = $"{lines} rendered text line{(lines == 1 ? "" : "s")}, seed {textSeed}";
            return set.Batches(batchSize).Select(b => b.Images).ToList();
        }
        using var given = data.Open(parse, graph, path, batchSize, split: null, seed: 0, includeFlips: true)!;
        var batches = given.SingleInputBatches().ToList();
        SkippedImageWarnings.Write(context.Error, given.Source.Skipped);
        what = $"{given.Source.Describe()}; {given.Preprocessing}";
        return batches;
    }

    private static FineTuneResult FineTune(IAnsiConsole console, QuantSim sim, Graph floatGraph, IReadOnlyList<Tensor> samples, FineTuneOptions options)
    {
        FineTuneResult? result = null;
        console.ProgressBar()
            .Start(ctx =>
            {
                var task = ctx.AddTask("fine-tuning", maxValue: options.Steps);
                result = FineTuner.Run(sim, floatGraph, samples, options, new Progress(task));
                task.Value = task.MaxValue;
            });
        return result!;
    }

    // Synchronous on purpose, as QuantizeCommand's: System.Progress<T> would report late or out of order.
    private sealed class Progress(ProgressTask task) : IProgress<FineTuneProgress>
    {
        public void Report(FineTuneProgress value)
        {
            task.Value = value.Step;
            task.Description = string.Create(CultureInfo.InvariantCulture, $"fine-tuning, loss {value.SmoothedLoss:G4}");
        }
    }
}
