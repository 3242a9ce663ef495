using System.CommandLine;
using System.Diagnostics;
using SharpQuant.Data;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Quantization.AdaRound;
using SharpQuant.Runtime;
using Spectre.Console;

namespace SharpQuant.Cli.Commands;

/// <summary>
/// <c>sharpquant quantize [MODEL] --images DIR -o OUT.onnx</c>: fold BatchNorm (and optionally equalize), insert
/// quantizers, calibrate on the images with a progress bar, and export an int8 QDQ model (8-bit) or, at other
/// bit widths, the simulation lowered to standard ONNX ops.
/// </summary>
public static class QuantizeCommand
{
    public static Command Create(CliContext context)
    {
        var model = ModelArgument.Create();
        var data = DataOptions.Create("Folder of calibration images (JPEG, PNG, BMP, WebP); not needed with --data-free");
        var output = new Option<string>("--output", "-o") { Description = "Where to write the quantized model", Required = true };
        var split = new Option<string>("--split")
        {
            Description = "Calibrate on crops: 5 deterministic crops of each image and their mirror images, of the calibration images (1st, 3rd, … by name; " +
                "evaluate --split evaluation then uses the others), the evaluation images or all; without --split every image whole and mirrored. With --inputs: every other tensor file",
        };
        split.AcceptOnlyFromAmong("calibration", "evaluation", "all");
        var seed = new Option<int>("--seed") { Description = QuantOptions.SeedDescription, DefaultValueFactory = _ => EvaluateCommand.DefaultSeed };
        var weights = QuantOptions.WeightGranularity();
        var wbits = QuantOptions.WeightBits();
        var abits = QuantOptions.ActivationBits();
        var observer = QuantOptions.Observer();
        var equalize = new Option<bool>("--equalize") { Description = "Cross-layer equalization before quantizing" };
        var format = new Option<string>("--format") { Description = "Integer types: u8s8, u8s8-reduced or s8s8 (default: chosen for this CPU)" };
        format.AcceptOnlyFromAmong([.. IntegerFormat.All.Select(f => f.Name)]);
        var batch = new Option<int>("--batch") { Description = "Calibration batch size", DefaultValueFactory = _ => 8 };
        var printQParams = new Option<bool>("--print-qparams") { Description = "Print every quantizer's scale and zero point" };
        var biasCorrection = QuantOptions.BiasCorrection(
            "Correct the bias shift weight quantization causes: empirical (needs --images or --inputs; the default with data), analytic (from BatchNorm statistics) or none (the default without data)");
        var dataFree = new Option<bool>("--data-free") { Description = "No data: activation ranges from BatchNorm statistics (β ± 6|γ|) and the preset's input range" };
        var json = new Option<bool>("--json") { Description = "Print the result (format, sizes, every quantizer's parameters) as JSON" };
        var adaround = new Option<bool>("--adaround") { Description = "Learn each weight's rounding (AdaRound) layer by layer on the calibration data, after calibration" };
        var adaroundIterations = new Option<int>("--adaround-iterations") { Description = "AdaRound's Adam steps per layer", DefaultValueFactory = _ => new AdaRoundOptions().Iterations };
        var command = new Command("quantize", "Calibrate and export an int8 model")
        {
            model, split, seed, output, weights, wbits, abits, observer, equalize, format, batch, printQParams, biasCorrection, dataFree, json, adaround, adaroundIterations,
        };
        data.AddTo(command);
        command.SetAction(parse => context.Runner.Run(parse, () =>
        {
            var clock = Stopwatch.StartNew();
            var path = ModelArgument.Resolve(parse.GetValue(model));
            var outPath = OutputPath.Check(parse.GetValue(output)!, path, data.ImageFolder(parse), data.TensorFolder(parse));
            var asJson = parse.GetValue(json);
            // With --json the progress and the summary go to stderr, so stdout holds only the JSON document.
            var console = ConsoleOutput.For(asJson ? context.Error : context.Out);
            var (wb, ab) = (parse.GetValue(wbits), parse.GetValue(abits));
            if (wb is < 2 or > 16 || ab is < 2 or > 16)
            {
                throw new UsageException("--wbits and --abits take 2 to 16 bits");
            }
            var integerFormat = parse.GetValue(format) is { } f ? IntegerFormat.Parse(f) : IntegerFormat.ForThisCpu();
            var exportInt8 = ExportsInt8(wb, ab);

            var hasData = data.HasData(parse);
            var isDataFree = parse.GetValue(dataFree);
            // Empirical bias correction is the default with data: on ResNet18's embedding it adds 0.3 dB (README,
            // bench 'pytorch'), which puts the default more than 1 dB ahead of PyTorch's default FX recipe.
            var correction = (parse.GetValue(biasCorrection) ?? (hasData ? "empirical" : "none")) switch
            {
                "none" => null,
                var named => named,
            };
            if (!hasData && !isDataFree)
            {
                throw new UsageException("give --images DIR or --inputs DIR for calibration, or --data-free to quantize without data");
            }
            if (hasData && isDataFree)
            {
                throw new UsageException("--data-free excludes --images and --inputs");
            }
            if (correction == "empirical" && !hasData)
            {
                throw new UsageException("--bias-correction empirical needs --images or --inputs; use analytic without data");
            }
            var adaroundOptions = parse.GetValue(adaround) ? new AdaRoundOptions { Iterations = parse.GetValue(adaroundIterations) } : null;
            if (adaroundOptions is not null && !hasData)
            {
                throw new UsageException("--adaround needs --images or --inputs");
            }
            if (parse.GetValue(split) is not null && !hasData)
            {
                throw new UsageException("--split splits the --images or --inputs folder");
            }

            var graph = ModelArgument.LoadBatchable(path);
            // The data are fitted to the model's input (and checked against it) before any model work.
            var splitSet = parse.GetValue(split) is { } set ? EvaluateCommand.ParseSet(set) : (ImageSet?)null;
            using var given = data.Open(parse, graph, path, parse.GetValue(batch), splitSet, parse.GetValue(seed), includeFlips: true);
            // Data-free ranges start from the model input's range, which a preset knows for images; the input quantizer
            // of a model whose input is not an image has no range and stays float (said below, as any other left out).
            var notImage = "";
            var dataFreePreset = given is null && ImageInput.IsImageModel(graph, out notImage) ? data.FitPreset(parse, graph, path) : null;
            using var dataFreeResources = dataFreePreset as IDisposable;
            console.MarkupLine($"data: {Markup.Escape(given?.Preprocessing ?? (dataFreePreset is null ? "data-free, no input range: " + notImage : "data-free, input range of preset " + dataFreePreset.Describe()))}");
            graph = graph.FoldBatchNorm();
            if (parse.GetValue(equalize))
            {
                graph = graph.Equalize(null, out var eq);
                console.MarkupLine($"equalized {eq.Sets.Count} sets in {eq.Sweeps} sweeps");
            }
            var config = Config(wb, ab, parse.GetValue(weights) == "per-channel", ParseObserver(parse.GetValue(observer)!), integerFormat);
            var sim = QuantSim.Prepare(graph, new QConfigMapping().SetGlobal(config));
            IReadOnlyList<InputBatch>? calibration = null;
            var source = given?.Source;
            if (source is not null)
            {
                // Kept for empirical bias correction; a calibration set is a few dozen samples, not a data set.
                calibration = correction == "empirical" || adaroundOptions is not null ? source.Batches().ToList() : null;
                SimCalibration.WithProgress(console, sim, calibration ?? source.Batches(), source.ExpectedBatches);
                SkippedImageWarnings.Write(context.Error, source.Skipped);
                if (adaroundOptions is not null)
                {
                    var inputName = sim.Graph.Inputs[0].Name;
                    var rounded = AdaRounder.Run(sim, calibration!.Select(b => b.Tensors[inputName]), adaroundOptions, new AdaRoundLines(console));
                    console.MarkupLine($"AdaRound: {rounded.Layers.Count} layers in {rounded.Elapsed.TotalSeconds:F1} s, {rounded.Skipped.Count} skipped");
                }
            }
            else
            {
                SimCalibration.DataFree(console, context.Error, sim, dataFreePreset?.InputRange);
            }
            if (correction is not null)
            {
                var report = correction == "empirical" ? BiasCorrection.Empirical(sim, calibration!) : BiasCorrection.Analytic(sim);
                console.MarkupLine($"{report.Method} bias correction: {report.Corrected.Count} layers corrected, {report.Skipped.Count} skipped");
                foreach (var s in report.Skipped)
                {
                    console.MarkupLine($"  skipped {Markup.Escape(s.Layer)}: {Markup.Escape(s.Reason)}");
                }
            }


            QdqExportReport? exportReport = null;
            if (exportInt8)
            {
                var report = exportReport = QdqExport.Save(sim, outPath, integerFormat);
                console.MarkupLine($"[bold]int8 QDQ model[/]: {report.Weights} weights, {report.Activations} activations, {report.Biases} int32 biases, opset {report.Opset}");
                if (report.FloatBiases.Count > 0)
                {
                    console.MarkupLine($"[yellow]{report.FloatBiases.Count} biases stay float32[/] (ONNX Runtime cannot fuse those layers into integer kernels):");
                    foreach (var b in report.FloatBiases)
                    {
                        console.MarkupLine($"  {Markup.Escape(b.Layer)}: {Markup.Escape(b.Reason)}");
                    }
                }
                console.MarkupLine($"integer format [bold]{integerFormat.Name}[/]: {Markup.Escape(integerFormat.Reason)}");
                console.MarkupLine($"parameters {report.FloatBytes / 1048576.0:F1} MiB → {report.QuantizedBytes / 1048576.0:F1} MiB ({(double)report.FloatBytes / report.QuantizedBytes:F2}× smaller)");
            }
            else
            {
                OnnxModel.Save(FakeQuantLowering.Lower(sim.Graph), outPath);
                console.MarkupLine($"[yellow]w{wb}a{ab} has no int8 ONNX form[/]: wrote the simulation (fake quantization as standard ONNX float ops)");
            }
            if (parse.GetValue(printQParams))
            {
                foreach (var q in QParamsReport.Of(sim))
                {
                    console.WriteLine(QParamsReport.Format(q));
                }
            }
            if (asJson)
            {
                context.Out.WriteLine(JsonOutput.Serialize(new
                {
                    model = path,
                    output = outPath,
                    format = exportInt8 ? integerFormat.Name : null,
                    formatReason = exportInt8 ? integerFormat.Reason : null,
                    export = exportReport,
                    preprocessing = given?.Preprocessing,
                    images = given?.Images?.Images ?? 0,
                    samples = source?.Samples.Count ?? 0,
                    calibration = source?.Describe(),
                    skipped = source?.Skipped.Select(s => s.File).ToArray() ?? [],
                    quantizers = QParamsReport.Of(sim),
                }));
            }
            var how = source is null ? "without data (data-free)" : $"calibrated on {source.Samples.Count} samples ({source.Describe()})";
            console.MarkupLine($"{how}; wrote [bold]{Markup.Escape(outPath)}[/] in {clock.Elapsed.TotalSeconds:F1} s");
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>
    /// uint8 affine activations and int symmetric weights (min-max), as the command line quantizes; where the result
    /// exports to int8 (weights of 8 bits or fewer, 8-bit activations) the integer format sets the 8-bit types.
    /// </summary>
    internal static QConfig Config(int weightBits, int activationBits, bool perChannel, ObserverKind observer, IntegerFormat integerFormat)
    {
        var config = new QConfig(
            new QuantSpec { Bits = activationBits, Signed = false, Scheme = QuantScheme.Affine, Observer = observer },
            new QuantSpec { Bits = weightBits, Signed = true, Scheme = QuantScheme.Symmetric, Axis = perChannel ? 0 : null, Observer = ObserverKind.MinMax });
        if (ExportsInt8(weightBits, activationBits))
        {
            // The format sets 8-bit types (7-bit weights when reducing range); narrower weights stay as asked.
            config = integerFormat.Apply(config);
            if (weightBits < 8)
            {
                config = config with { Weight = config.Weight! with { Bits = weightBits } };
            }
        }
        return config;
    }

    /// <summary>Whether a bit-width pair has an int8 QDQ form.</summary>
    internal static bool ExportsInt8(int weightBits, int activationBits) => weightBits <= 8 && activationBits == 8;

    internal static ObserverKind ParseObserver(string name) => name switch
    {
        "minmax" => ObserverKind.MinMax,
        "moving-average" => ObserverKind.MovingAverageMinMax,
        "percentile" => ObserverKind.Percentile,
        "mse" => ObserverKind.Mse,
        _ => ObserverKind.Entropy,
    };
}
