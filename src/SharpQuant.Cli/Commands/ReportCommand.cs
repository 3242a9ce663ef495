using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using SharpQuant.Analysis;
using SharpQuant.Data;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Passes.Normalization;
using SharpQuant.Plots.Report;
using SharpQuant.Quantization;
using SharpQuant.Runtime;
using Spectre.Console;

namespace SharpQuant.Cli.Commands;

/// <summary>
/// <c>sharpquant report [MODEL] [--images DIR | --text-orientation N] [--equalize] -o FILE.html</c>: the flow on
/// one model (load, fold BatchNorm, find and optionally equalize the sets, prepare int8 simulations, calibrate or use
/// data-free ranges, evaluate fidelity) written as one self-contained HTML report, sections in the order of the flow.
/// With --equalize the model is quantized without and with CLE, and the report compares the two.
/// </summary>
public static class ReportCommand
{
    /// <summary>Rendered text lines calibrated on with --text-orientation (as the results benchmark calibrates ppocr-cls).</summary>
    public const int CalibrationTextLines = 64;

    public const string WithoutCle = "int8, no CLE";
    public const string WithCle = "int8, with CLE";

    public static Command Create(CliContext context)
    {
        var model = ModelArgument.Create();
        var data = DataOptions.Create(
            "Folder of images: the calibration images (1st, 3rd, … by name; 5 crops each and their mirror images) calibrate, " +
            "the others evaluate (with --inputs: every other tensor file). Without --images, --inputs or --text-orientation the ranges are data-free and nothing is evaluated");
        var textOrientation = new Option<int?>("--text-orientation")
        {
            Description = $"For the ppocr-cls model: calibrate on {CalibrationTextLines} rendered text lines (seed + 1) and evaluate fidelity and accuracy on N others (seed)",
        };
        var seed = new Option<int>("--seed") { Description = QuantOptions.SeedDescription, DefaultValueFactory = _ => EvaluateCommand.DefaultSeed };
        var equalize = new Option<bool>("--equalize") { Description = "Also equalize (CLE) and compare the int8 models without and with it" };
        var observer = QuantOptions.Observer();
        var layer = new Option<string[]>("--layer")
        {
            Description = "Layers whose per-channel weight ranges and sensitivity are drawn, the first one's scales printed in full; repeatable " +
                "(default: the equalized layer whose spread narrows most, else the set layer with the widest spread)",
            AllowMultipleArgumentsPerToken = true,
        };
        var batch = new Option<int>("--batch") { Description = "Images per batch", DefaultValueFactory = _ => 8 };
        var output = new Option<string>("--output", "-o") { Description = "Where to write the HTML report", Required = true };
        var command = new Command("report", "Run the flow on a model and write a self-contained HTML report")
        {
            model, textOrientation, seed, equalize, observer, layer, batch, output,
        };
        data.AddTo(command);
        command.SetAction(parse => context.Runner.Run(parse, () =>
        {
            var clock = Stopwatch.StartNew();
            var path = ModelArgument.Resolve(parse.GetValue(model));
            var outPath = OutputPath.Check(parse.GetValue(output)!, path, data.ImageFolder(parse), data.TensorFolder(parse));
            var hasData = data.HasData(parse);
            var textLines = parse.GetValue(textOrientation);
            var batchSize = parse.GetValue(batch);
            if (hasData && textLines is not null)
            {
                throw new UsageException("--images or --inputs and --text-orientation exclude each other");
            }
            if (textLines is not null && string.IsNullOrWhiteSpace(parse.GetValue(model)))
            {
                throw new UsageException("--text-orientation needs the ppocr-cls model on the command line");
            }
            if (textLines is not null && data.PresetGiven(parse) && parse.GetValue(data.Preset) != "ppocr-cls")
            {
                throw new UsageException("--text-orientation uses the ppocr-cls preprocessing");
            }
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"model file '{path}' does not exist");
            }
            OutputPath.CheckWritable(outPath);
            var console = ConsoleOutput.For(context.Out);

            var graph = OnnxModel.Load(path);
            graph.FreezeParameterDefaults();
            // The data are fitted to the model's input and checked before any model work.
            var tensorFolder = data.TensorFolder(parse);
            var imagePreset = textLines is not null ? ImagePresets.Create("ppocr-cls")
                : tensorFolder is not null ? null
                : data.FitPreset(parse, graph, path);
            using var presetResources = imagePreset as IDisposable;
            var reportData = tensorFolder is not null ? TensorData(TensorFiles.Open(tensorFolder, graph, batchSize))
                : data.ImageFolder(parse) is { } imageFolder ? ImageData(imageFolder, imagePreset!, batchSize, parse.GetValue(seed), graph.Inputs[0].Name)
                : textLines is not null ? TextData(parse.GetValue(seed), textLines.Value, batchSize, graph.Inputs[0].Name)
                : null;

            var head = ModelOutput.Of(graph);
            var sections = new List<ReportSection> { ModelSection.Build(GraphSummary.Of(graph), path, head), GraphSection.Build(graph) };
            console.MarkupLine($"loaded [bold]{Markup.Escape(path)}[/]: {graph.Nodes.Count} nodes; {Markup.Escape(head.Summary)}");
            graph.MakeBatchDynamic();
            graph = graph.Normalize();

            var folded = new FoldBatchNorm().Run(graph);
            sections.Add(FoldingSection.Build(folded.Report));
            console.MarkupLine($"BatchNorm folding: {folded.Report.Folded.Count} folded, {folded.Report.Skipped.Count} left in place");

            var options = new EqualizationOptions();
            var equalized = parse.GetValue(equalize) ? new EqualizeCrossLayer(options).Run(folded.Graph) : null;
            var discovery = equalized?.Report.Discovery ?? folded.Graph.FindEqualizationSets();
            sections.Add(EqualizationSection.Build(discovery, equalized?.Report, options));
            console.MarkupLine(equalized is null
                ? $"equalization sets: {discovery.Sets.Count} found (not equalized; --equalize applies them)"
                : $"equalized {discovery.Sets.Count} sets in {equalized.Report.Sweeps} sweeps");

            IReadOnlyList<string> focusLayers = parse.GetValue(layer) is { Length: > 0 } given
                ? given.Distinct(StringComparer.Ordinal).ToList()
                : DefaultFocusLayer(folded.Graph, discovery, equalized?.Report) is { } chosen ? [chosen] : [];
            foreach (var name in focusLayers.Where(n => folded.Graph.FindNode(n) is null))
            {
                throw new SharpQuantException($"the model has no layer '{name}' (module names are listed by 'sharpquant inspect --tabular')");
            }
            var focus = focusLayers.Count > 0 ? focusLayers[0] : null;

            var format = IntegerFormat.ForThisCpu();
            var config = format.Apply(QConfig.Default with
            {
                Activation = QConfig.Default.Activation! with { Observer = QuantizeCommand.ParseObserver(parse.GetValue(observer)!) },
            });
            var variants = new List<(string Label, Graph Graph)> { (WithoutCle, folded.Graph) };
            if (equalized is not null)
            {
                variants.Add((WithCle, equalized.Graph));
            }
            // A section that cannot be made is replaced by its reason; the sections after it are still made.
            var failures = new SectionFailures(context.Error);
            List<ReportedSim>? sims = null;
            sections.Add(failures.Attempt(ReportFlow.Quantization, () =>
            {
                var prepared = variants.Select(v => new ReportedSim(v.Label, QuantSim.Prepare(v.Graph, new QConfigMapping().SetGlobal(config)))).ToList();
                var calibration = Calibrate(console, context.Error, prepared, reportData, imagePreset);
                sims = prepared;
                return QuantizationSection.Build(QuantizationSection.Describe(config, $"{format.Name}: {format.Reason}"), prepared, calibration);
            }));

            sections.Add(failures.NeedsSims(ReportFlow.Evaluation, sims, s => reportData is null
                ? EvaluationSection.Build(null, [])
                : Evaluate(console, graph, s, reportData)));

            var figures = new List<ReportFigure>();
            foreach (var drawn in focusLayers)
            {
                var series = variants.Select(v => ChannelRanges.Of(v.Graph, drawn, v.Label == WithoutCle ? "without CLE" : "with CLE")).ToList();
                figures.Add(new ReportFigure(WeightRangeChart.Png(drawn, series),
                    $"Weight range per output channel of {drawn} after BatchNorm folding{(equalized is null ? "" : ", without and with CLE")}: " +
                    "each point is one output channel's max |w| divided by the largest channel's, which is the share of a per-tensor " +
                    "int8 grid that channel would use (0.1 leaves it about 25 of 255 levels). The spread in the legend is the largest " +
                    "over the smallest range. Per-channel scales, used here, give every channel the whole grid; equalization matters " +
                    "most for per-tensor weights."));
            }
            sections.Add(FiguresSection.Build(figures));
            // The first calibration batch (decoded again: a few crops, less than the analysis itself costs).
            sections.Add(failures.NeedsSims(ReportFlow.Sensitivity, sims, s => reportData is not null && focus is not null && reportData.Calibration() is { Count: > 0 } sensitivityBatches
                ? Sensitivity(console, s, focusLayers, sensitivityBatches[0])
                : SensitivitySection.Build([], null)));
            sections.Add(failures.NeedsSims(ReportFlow.QuantizationParameters, sims, s => QuantizerParametersSection.Build(s, focus is null ? null : focus + ".weight_fake_quant")));

            var steps = new List<string> { "BatchNorm folded" };
            if (equalized is not null)
            {
                steps.Add("equalized (CLE)");
            }
            steps.Add($"int8 simulated ({format.Name})");
            steps.Add(reportData is null ? "data-free ranges" : "calibrated");
            if (reportData is not null)
            {
                steps.Add("evaluated against the float model");
            }
            var document = new ReportDocument($"SharpQuant report: {Path.GetFileName(path)}", string.Join(", ", steps), sections)
            {
                Facts =
                [
                    new("data", reportData is null ? "none (data-free)" : reportData.Describe() + (imagePreset is null || textLines is not null ? "" : $"; preprocessing {imagePreset.Describe()}")),
                    new("written", DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)),
                ],
            };
            HtmlReportWriter.Write(document, outPath);
            console.MarkupLine($"wrote [bold]{Markup.Escape(outPath)}[/] ({new FileInfo(outPath).Length / 1024.0:F0} KiB) in {clock.Elapsed.TotalSeconds:F1} s");
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>
    /// The layer the figure and the printed scales are about: the equalized layer whose spread narrowed most, else the
    /// set layer with the widest spread, else the linear layer with the widest spread; null for a model without one.
    /// </summary>
    internal static string? DefaultFocusLayer(Graph folded, EqualizationSetsReport discovery, EqualizeReport? equalized)
    {
        if (equalized is { Sets.Count: > 0 })
        {
            return equalized.Sets.SelectMany(s => s.Spreads).MaxBy(s => s.Before / s.After)!.Layer;
        }
        var candidates = discovery.Sets.Count > 0
            ? discovery.Sets.SelectMany(s => s.Layers)
            : folded.Nodes.Where(n => LinearLayer.IsLinearOp(n) && LinearLayer.TryCreate(n, out _) is not null);
        return candidates.Select(n => (n.ModuleName, Spread: EqualizeCrossLayer.Spread(LinearLayer.Create(n).OutputRanges(RangeMode.MaxAbs))))
            .OrderByDescending(t => t.Spread).Select(t => t.ModuleName).FirstOrDefault();
    }

    internal static CalibrationSummary Calibrate(IAnsiConsole console, TextWriter error, IReadOnlyList<ReportedSim> sims, ReportData? data, ImagePreset? preset)
    {
        if (data is null)
        {
            ArgumentNullException.ThrowIfNull(preset);
            DataFreeRangeReport? shown = null;
            foreach (var s in sims)
            {
                console.MarkupLine($"{Markup.Escape(s.Label)}: no images given, so no calibration");
                shown = SimCalibration.DataFree(console, error, s.Sim, preset.InputRange);
            }
            return new CalibrationSummary($"The ranges listed below are those of the model {sims[^1].Label}.", shown);
        }
        // A calibration set is a few dozen samples: decoded once, shared by every model.
        var batches = data.Calibration();
        foreach (var s in sims)
        {
            SimCalibration.WithProgress(console, s.Sim, batches, batches.Count, $"calibrating {s.Label}");
        }
        SkippedImageWarnings.Write(error, data.SkippedImages);
        return new CalibrationSummary(data.DescribeCalibration());
    }

    internal static ReportSection Evaluate(IAnsiConsole console, Graph floatGraph, IReadOnlyList<ReportedSim> sims, ReportData data)
    {
        var batches = data.Evaluation();
        using var reference = new GraphExecutor(floatGraph);
        var executors = sims.Select(s => s.Sim.CreateExecutor()).ToList();
        try
        {
            // Top-1 agreement and KL only where the float model's output is class scores.
            var output = ModelOutput.Of(floatGraph);
            var fidelity = sims.Select(_ => new FidelityAccumulator(output)).ToList();
            var accuracy = sims.Select(_ => new AccuracyAccumulator(1)).ToList();
            var floatAccuracy = new AccuracyAccumulator(1);
            console.ProgressBar()
                .Start(ctx =>
                {
                    var task = ctx.AddTask("evaluating", maxValue: batches.Count);
                    foreach (var (input, labels) in batches)
                    {
                        var expected = reference.Run(input.Tensors).Output;
                        if (labels is not null)
                        {
                            floatAccuracy.Add(expected, labels);
                        }
                        for (var m = 0; m < sims.Count; m++)
                        {
                            var actual = executors[m].Run(input.Tensors).Output;
                            fidelity[m].Add(expected, actual);
                            if (labels is not null)
                            {
                                accuracy[m].Add(actual, labels);
                            }
                        }
                        task.Increment(1);
                    }
                });
            var labelled = batches.Any(b => b.Labels is not null);
            var models = sims.Select((s, m) => new EvaluatedModel(s.Label, fidelity[m].Report(), labelled ? accuracy[m].Report() : null)).ToList();
            foreach (var e in models)
            {
                console.MarkupLine($"{Markup.Escape(e.Label)}: cosine {ReportNumbers.Cosine(e.Fidelity.MeanCosine)}, SQNR {ReportNumbers.Decibels(e.Fidelity.SqnrDb)} dB" +
                    (e.Accuracy is { } a ? $", accuracy {ReportNumbers.Percent(a.Top1)}" : ""));
            }
            return EvaluationSection.Build(data.DescribeEvaluation(), models, labelled ? floatAccuracy.Report() : null, fidelity[0].Output ?? output);
        }
        finally
        {
            executors.ForEach(e => e.Dispose());
        }
    }

    internal static ReportData ImageData(string folder, ImagePreset preset, int batchSize, int seed, string inputName)
    {
        var plan = new CropPlan(seed);
        var calibration = new ImageBatches(folder, preset, batchSize, plan, ImageSet.Calibration);
        var evaluation = new ImageBatches(folder, preset, batchSize, plan, ImageSet.Evaluation);
        var split = calibration.Split!;
        string Set(ImageSet set, string order, string other)
        {
            var files = split.FilesIn(set);
            return $"{files.Count * plan.VariantsPerImage} samples: {CropPlan.CropsPerImage} crops of each of {Images(files.Count)} " +
                $"({order} by name: {string.Join(", ", files.Select(Path.GetFileName))}){(plan.IncludeFlips ? " and their mirror images" : "")}; " +
                $"the other {Images(split.Files.Count - files.Count)} of the folder {(split.Files.Count - files.Count == 1 ? "is" : "are")} used only {other}";
        }
        return new ReportData(
            () => calibration.Batches().Select(b => InputBatch.Of(inputName, b)).ToList(),
            () => evaluation.Batches().Select(b => (InputBatch.Of(inputName, b), (int[]?)null)).ToList(),
            () => $"{folder}: {split.Describe()}",
            () => Set(ImageSet.Calibration, "1st, 3rd, …", "for evaluation"),
            () => Set(ImageSet.Evaluation, "2nd, 4th, …", "for calibration"),
            () => calibration.SkippedImages);
    }

    private static string Images(int count) => count == 1 ? "1 image" : $"{count} images";

    /// <summary>
    /// The sensitivity analysis of the focus layers (their weights and the activations after them) in every model, on one
    /// calibration batch: a few figures keep the report small.
    /// </summary>
    private static ReportSection Sensitivity(IAnsiConsole console, IReadOnlyList<ReportedSim> sims, IReadOnlyList<string> layers, InputBatch inputs)
    {
        // The analysis backpropagates through one input; a model with several has its section replaced by the reason.
        var batch = inputs.Single;
        var seed = SensitivityAnalysis.DefaultSeed(sims[0].Sim.Graph);
        var runs = new List<ReportedSensitivity>();
        foreach (var s in sims)
        {
            var selected = layers.SelectMany(l => SensitivityQuantizers(s.Sim, l)).ToHashSet();
            runs.Add(new ReportedSensitivity(s.Label, SensitivityAnalysis.Run(s.Sim, [batch], seed, selected.Contains)));
        }
        console.MarkupLine($"sensitivity analysis of {Markup.Escape(string.Join(", ", layers))}: {Markup.Escape(SensitivityHistograms.DescribeTarget(seed))} backpropagated on {batch.Shape[0]} samples");
        return SensitivitySection.Build(runs, $"the first calibration batch ({batch.Shape[0]} sample{(batch.Shape[0] == 1 ? "" : "s")})");
    }

    /// <summary>How many single-reader nodes (a ReLU, a Clip) may sit between a layer and the activation quantizer after it.</summary>
    private const int MaxHopsToActivationQuantizer = 3;

    /// <summary>The weight quantizer of <paramref name="layer"/> and the activation quantizer that reads its output (after its ReLU).</summary>
    internal static IReadOnlySet<Quantizer> SensitivityQuantizers(QuantSim sim, string layer)
    {
        var selected = sim.Quantizers.Where(q => q.Kind == QuantizerKind.Weight && q.Target == layer).ToHashSet();
        var value = sim.Graph.FindNode(layer)?.Output;
        for (var hop = 0; value is not null && hop <= MaxHopsToActivationQuantizer; hop++)
        {
            var reader = sim.Quantizers.FirstOrDefault(q => q.Kind == QuantizerKind.Activation && ReferenceEquals(q.Input, value));
            if (reader is not null)
            {
                selected.Add(reader);
                break;
            }
            value = value.Uses.Count == 1 ? value.Uses[0].Node.Output : null;
        }
        return selected;
    }

    /// <summary>Tensor files of a single-input model: the even files (in name order) calibrate, the odd ones evaluate.</summary>
    internal static ReportData TensorData(TensorFiles files)
    {
        var calibration = files.Subset(ImageSet.Calibration);
        var evaluation = files.Subset(ImageSet.Evaluation);
        return new ReportData(
            () => calibration.Batches().ToList(),
            () => evaluation.Batches().Select(b => (b, (int[]?)null)).ToList(),
            () => $"{files.Folder}: {files.FileNames.Count} tensor files, every other one calibrates",
            () => $"{calibration.FileNames.Count} tensor files (1st, 3rd, … by name); the others are used only for evaluation",
            () => $"{evaluation.FileNames.Count} tensor files (2nd, 4th, … by name), not the calibration files",
            () => []);
    }

    private static ReportData TextData(int seed, int lines, int batchSize, string inputName) =>
        new(
            () =>
            {
                using var set = new TextOrientationDataset(seed + 1, CalibrationTextLines);
                return set.Batches(batchSize).Select(b => InputBatch.Of(inputName, b.Images)).ToList();
            },
            () =>
            {
                using var set = new TextOrientationDataset(seed, lines);
                return set.Batches(batchSize).Select(b => (InputBatch.Of(inputName, b.Images), (int[]?)b.Labels)).ToList();
            },
            () => $"rendered text lines: {CalibrationTextLines} to calibrate (seed {seed + 1}), {lines} to evaluate (seed {seed})",
            () => $"{CalibrationTextLines} rendered text lines (seed {seed + 1}, half turned by 180°)",
            () => $"{lines} rendered text line{(lines == 1 ? "" : "s")}, not the calibration lines (seed {seed}, half turned by 180°, labelled upright or turned)",
            () => []);

    /// <summary>The report's data: calibration batches, evaluation batches (with labels for text lines), and how to describe them.</summary>
    internal sealed class ReportData(
        Func<List<InputBatch>> calibration,
        Func<List<(InputBatch Input, int[]? Labels)>> evaluation,
        Func<string> describe,
        Func<string> describeCalibration,
        Func<string> describeEvaluation,
        Func<IReadOnlyList<SkippedImage>> skipped)
    {
        public List<InputBatch> Calibration() => calibration();
        public List<(InputBatch Input, int[]? Labels)> Evaluation() => evaluation();
        public string Describe() => describe();
        public string DescribeCalibration() => describeCalibration();
        public string DescribeEvaluation() => describeEvaluation();
        public IReadOnlyList<SkippedImage> SkippedImages => skipped();
    }
}
