using System.CommandLine;
using System.Diagnostics;
using SharpQuant.Data;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Quantization;
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
        var images = new Option<string>("--images") { Description = "Folder of calibration images (JPEG, PNG, BMP, WebP); not needed with --data-free" };
        var output = new Option<string>("--output", "-o") { Description = "Where to write the quantized model", Required = true };
        var split = new Option<string>("--split")
        {
            Description = "Calibrate on crops: 5 deterministic crops of each image and their mirror images, of the calibration images (1st, 3rd, … by name; " +
                "evaluate --split evaluation then uses the others), the evaluation images or all; without --split every image whole and mirrored",
        };
        split.AcceptOnlyFromAmong("calibration", "evaluation", "all");
        var seed = new Option<int>("--seed") { Description = "Seed of the --split crop sizes", DefaultValueFactory = _ => EvaluateCommand.DefaultSeed };
        var preset = QuantOptions.Preset();
        var weights = QuantOptions.WeightGranularity();
        var wbits = QuantOptions.WeightBits();
        var abits = QuantOptions.ActivationBits();
        var observer = QuantOptions.Observer("entropy");
        var equalize = new Option<bool>("--equalize") { Description = "Cross-layer equalization before quantizing" };
        var format = new Option<string>("--format") { Description = "Integer types: u8s8, u8s8-reduced or s8s8 (default: chosen for this CPU)" };
        format.AcceptOnlyFromAmong([.. IntegerFormat.All.Select(f => f.Name)]);
        var batch = new Option<int>("--batch") { Description = "Calibration batch size", DefaultValueFactory = _ => 8 };
        var printQParams = new Option<bool>("--print-qparams") { Description = "Print every quantizer's scale and zero point" };
        var biasCorrection = new Option<string>("--bias-correction")
        {
            Description = "Correct the bias shift weight quantization causes: empirical (needs --images; the default with images), analytic (from BatchNorm statistics) or none (the default without images)",
        };
        biasCorrection.AcceptOnlyFromAmong("empirical", "analytic", "none");
        var dataFree = new Option<bool>("--data-free") { Description = "No images: activation ranges from BatchNorm statistics (β ± 6|γ|) and the preset's input range" };
        var json = new Option<bool>("--json") { Description = "Print the result (format, sizes, every quantizer's parameters) as JSON" };
        var command = new Command("quantize", "Calibrate and export an int8 model")
        {
            model, images, split, seed, output, preset, weights, wbits, abits, observer, equalize, format, batch, printQParams, biasCorrection, dataFree, json,
        };
        command.SetAction(parse => context.Runner.Run(parse, () =>
        {
            var clock = Stopwatch.StartNew();
            var path = ModelArgument.Resolve(parse.GetValue(model));
            var outPath = OutputPath.Check(parse.GetValue(output)!, path);
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

            // The image folder is checked before any model work, so a wrong path fails at once.
            var imagePreset = ImagePresets.Create(parse.GetValue(preset)!);
            using var presetResources = imagePreset as IDisposable;
            var imageFolder = parse.GetValue(images);
            var isDataFree = parse.GetValue(dataFree);
            // Empirical bias correction is the default with images: on ResNet18's embedding it adds 0.3 dB (README,
            // bench 'pytorch'), which puts the default more than 1 dB ahead of PyTorch's default FX recipe.
            var correction = (parse.GetValue(biasCorrection) ?? (imageFolder is null ? "none" : "empirical")) switch
            {
                "none" => null,
                var named => named,
            };
            if (imageFolder is null && !isDataFree)
            {
                throw new UsageException("give --images DIR for calibration, or --data-free to quantize without images");
            }
            if (imageFolder is not null && isDataFree)
            {
                throw new UsageException("--data-free and --images exclude each other");
            }
            if (correction == "empirical" && imageFolder is null)
            {
                throw new UsageException("--bias-correction empirical needs --images; use analytic without data");
            }
            if (parse.GetValue(split) is not null && imageFolder is null)
            {
                throw new UsageException("--split splits the --images folder");
            }
            var data = imageFolder is null ? null
                : parse.GetValue(split) is { } set
                    ? new ImageBatches(imageFolder, imagePreset, parse.GetValue(batch), new CropPlan(parse.GetValue(seed)), EvaluateCommand.ParseSet(set))
                    : new ImageBatches(imageFolder, imagePreset, parse.GetValue(batch), includeFlips: true);

            var graph = ModelArgument.LoadBatchable(path).FoldBatchNorm();
            if (parse.GetValue(equalize))
            {
                graph = graph.Equalize(null, out var eq);
                console.MarkupLine($"equalized {eq.Sets.Count} sets in {eq.Sweeps} sweeps");
            }
            var config = Config(wb, ab, parse.GetValue(weights) == "per-channel", ParseObserver(parse.GetValue(observer)!), integerFormat);
            var sim = QuantSim.Prepare(graph, new QConfigMapping().SetGlobal(config));
            IReadOnlyList<Tensor>? calibration = null;
            if (data is not null)
            {
                // Kept for empirical bias correction; a calibration set is a few dozen images, not a data set.
                calibration = correction == "empirical" ? data.Batches().ToList() : null;
                SimCalibration.WithProgress(console, sim, calibration ?? data.Batches(), data.ExpectedBatches);
                foreach (var skipped in data.Skipped)
                {
                    context.Error.WriteLine($"warning: skipped '{skipped}': not a decodable image");
                }
            }
            else
            {
                SimCalibration.DataFree(console, context.Error, sim, imagePreset.InputRange);
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
                    images = data?.Images ?? 0,
                    samples = data?.Samples.Count ?? 0,
                    calibration = data?.Describe(),
                    skipped = data?.Skipped ?? [],
                    quantizers = QParamsReport.Of(sim),
                }));
            }
            var how = data is null ? "without images (data-free)" : $"calibrated on {data.Samples.Count} samples ({data.Describe()})";
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
