using System.CommandLine;
using System.Globalization;
using SharpQuant.Analysis;
using SharpQuant.Data;
using SharpQuant.Models;
using SharpQuant.Onnx;
using SharpQuant.Runtime;
using Spectre.Console;

namespace SharpQuant.Cli.Commands;

/// <summary>
/// <c>sharpquant evaluate FLOAT.onnx [QUANT.onnx ...] --images DIR [--split SET]</c> or <c>--text-orientation N</c>:
/// runs the float model and every candidate on the same batches and reports each candidate's fidelity to the float
/// outputs (cosine, SQNR, max|Δ|, and where the outputs are class scores top-1 agreement and KL); on the labelled text
/// lines also every model's accuracy; with <c>--labels</c>, also the top-k classes per image of every model, which
/// needs class scores with one score per label (<see cref="ModelOutput"/>).
/// </summary>
public static class EvaluateCommand
{
    /// <summary>The seed of <c>--seed</c> when none is given: the seed TextOrientationDatasetTests measures the float classifier with.</summary>
    public const int DefaultSeed = QuantOptions.DefaultSeed;

    public static Command Create(CliContext context)
    {
        var models = new Argument<string[]>("models")
        {
            Description = "The float model, then the models to compare with it (default: the ImageNet ResNet18 that ships with SharpQuant, alone)",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var data = DataOptions.Create("Folder of images to evaluate on (JPEG, PNG, BMP, WebP)");
        var textOrientation = new Option<int?>("--text-orientation")
        {
            Description = "Instead of --images: N rendered text lines (half upright, half turned by 180°) for the ppocr-cls models given; prints each model's accuracy",
        };
        var seed = new Option<int>("--seed") { Description = QuantOptions.SeedDescription, DefaultValueFactory = _ => DefaultSeed };
        var split = new Option<string>("--split")
        {
            Description = "Evaluate on crops: 5 deterministic crops of each image and their mirror images, of the calibration images (1st, 3rd, … by name), " +
                "the evaluation images (2nd, 4th, …) or all; without --split every image once, whole",
        };
        split.AcceptOnlyFromAmong("calibration", "evaluation", "all");
        var labels = new Option<string>("--labels") { Description = "Class names, one per line or \"index label\" lines; prints the top-k per image" };
        var top = new Option<int>("--top") { Description = "How many classes --labels prints per image", DefaultValueFactory = _ => 5 };
        var batch = new Option<int>("--batch") { Description = "Images per batch", DefaultValueFactory = _ => 8 };
        var json = new Option<bool>("--json") { Description = "Print the results as JSON" };
        var command = new Command("evaluate", "Compare models' outputs with the float model's on images or rendered text lines")
        {
            models, textOrientation, seed, split, labels, top, batch, json,
        };
        data.AddTo(command);
        command.SetAction(parse => context.Runner.Run(parse, () =>
        {
            var modelPaths = parse.GetValue(models) ?? [];
            var textLines = parse.GetValue(textOrientation);
            var hasData = data.HasData(parse);
            if (textLines is not null && hasData)
            {
                throw new UsageException("--images or --inputs and --text-orientation exclude each other");
            }
            if (textLines is null && !hasData)
            {
                throw new UsageException("give --images DIR, --inputs DIR or --text-orientation N");
            }
            if (textLines is not null)
            {
                if (modelPaths.Length == 0)
                {
                    throw new UsageException("--text-orientation needs the ppocr-cls model (and any candidates) on the command line");
                }
                if (parse.GetValue(split) is not null)
                {
                    throw new UsageException("--split splits an image folder; it does not apply to --text-orientation");
                }
                if (data.PresetGiven(parse) && parse.GetValue(data.Preset) != "ppocr-cls")
                {
                    throw new UsageException("--text-orientation uses the ppocr-cls preprocessing");
                }
            }
            var floatPath = modelPaths.Length == 0 ? DefaultModels.ResNet18Path : modelPaths[0];
            var candidatePaths = modelPaths.Skip(1).ToList();
            var k = parse.GetValue(top);
            var batchSize = parse.GetValue(batch);
            var classNames = parse.GetValue(labels) is { } labelPath ? Labels.Load(labelPath) : null;

            // Every model is loaded before any image is run, so a missing or broken file fails at once.
            var floatGraph = ModelArgument.LoadBatchable(floatPath);
            var candidateGraphs = candidatePaths.Select(ModelArgument.LoadBatchable).ToList();
            using var given = textLines is null
                ? data.Open(parse, floatGraph, floatPath, batchSize, parse.GetValue(split) is { } set ? ParseSet(set) : null, parse.GetValue(seed), includeFlips: false)
                : null;
            using var textSet = textLines is null ? null : new TextOrientationDataset(parse.GetValue(seed), textLines.Value);
            var presetName = given is not null ? given.Preset?.Name ?? "tensor files" : "ppocr-cls";
            var sampleNames = new List<string>();
            var source = textSet is not null
                ? textSet.Batches(batchSize).Select(b =>
                {
                    sampleNames.AddRange(b.Labels.Select(l => $"line {sampleNames.Count} ({(l == TextOrientationDataset.LabelUpright ? "0°" : "180°")})"));
                    return (InputBatch.For(floatGraph, b.Images), (int[]?)b.Labels);
                })
                : given!.Source.Batches().Select(t => (t, (int[]?)null));
            var images = given?.Images;

            // Labels that cannot fit fail before any image runs; where the graph leaves the class count open, the
            // first batch's output shape decides.
            var output = ModelOutput.Of(floatGraph);
            CheckLabels(output, classNames);
            using var reference = new GraphExecutor(floatGraph);
            var candidates = candidatePaths.Zip(candidateGraphs, (p, g) => new Candidate(p, new GraphExecutor(g), new FidelityAccumulator(output))).ToList();
            var observed = false;
            var accuracy = new[] { floatPath }.Concat(candidatePaths).Select(_ => new AccuracyAccumulator(1)).ToList();
            try
            {
                var topK = new List<List<IReadOnlyList<TopKEntry>>>();
                foreach (var (input, truth) in source)
                {
                    var expected = Run(reference, floatPath, input);
                    if (!observed)
                    {
                        output = output.Observe(expected.Shape);
                        CheckLabels(output, classNames);
                        observed = true;
                    }
                    var perModel = new List<IReadOnlyList<IReadOnlyList<TopKEntry>>>();
                    if (classNames is not null)
                    {
                        perModel.Add(TopK.Of(expected, k, classNames));
                    }
                    if (truth is not null)
                    {
                        accuracy[0].Add(expected, truth);
                    }
                    for (var m = 0; m < candidates.Count; m++)
                    {
                        var candidate = candidates[m];
                        var actual = Run(candidate.Executor, candidate.Path, input);
                        if (!actual.Shape.SequenceEqual(expected.Shape))
                        {
                            throw new SharpQuantException(
                                $"'{candidate.Path}' outputs shape {Shapes.Format(actual.Shape)} but the float model '{floatPath}' outputs {Shapes.Format(expected.Shape)}");
                        }
                        candidate.Fidelity.Add(expected, actual);
                        if (truth is not null)
                        {
                            accuracy[m + 1].Add(actual, truth);
                        }
                        if (classNames is not null)
                        {
                            perModel.Add(TopK.Of(actual, k, classNames));
                        }
                    }
                    if (classNames is not null)
                    {
                        for (var n = 0; n < perModel[0].Count; n++)
                        {
                            topK.Add(perModel.Select(m => m[n]).ToList());
                        }
                    }
                }
                if (given is not null)
                {
                    sampleNames.AddRange(given.Source.Samples);
                    SkippedImageWarnings.Write(context.Error, given.Source.Skipped);
                }
                var modelNames = new[] { floatPath }.Concat(candidatePaths).ToList();
                var accuracies = textSet is null ? null : accuracy.Select(a => a.Report()).ToList();
                var what = textSet is not null
                    ? $"{textSet.Count} rendered text line{(textSet.Count == 1 ? "" : "s")}, seed {textSet.Seed}, half turned by 180°"
                    : given!.Source.Describe();
                if (parse.GetValue(json))
                {
                    context.Out.WriteLine(JsonOutput.Serialize(new
                    {
                        model = floatPath,
                        output = OutputJson.Of(output),
                        preset = presetName,
                        preprocessing = given?.Preprocessing,
                        data = what,
                        images = sampleNames.Count,
                        split = parse.GetValue(split),
                        splitImages = images?.Split is { } s ? new
                        {
                            total = s.Files.Count,
                            cropsPerImage = CropPlan.CropsPerImage,
                            variantsPerImage = s.Plan.VariantsPerImage,
                            calibration = s.FilesIn(ImageSet.Calibration).Count,
                            evaluation = s.FilesIn(ImageSet.Evaluation).Count,
                        } : null,
                        skipped = given?.Source.Skipped.Select(s => s.File).ToArray() ?? [],
                        accuracy = accuracies is null ? null : modelNames.Zip(accuracies, (m, a) => new { model = m, top1 = a.Top1, correct = a.Top1Correct, samples = a.Samples }),
                        candidates = candidates.Select(c => new { model = c.Path, fidelity = OutputJson.Of(c.Fidelity.Report()) }),
                        topK = classNames is null ? null : sampleNames.Zip(topK, (sample, predictions) => new
                        {
                            image = sample,
                            models = modelNames.Zip(predictions, (m, p) => new { model = m, top = p }),
                        }),
                    }));
                    return ExitCodes.Ok;
                }
                var console = ConsoleOutput.For(context.Out);
                var plural = sampleNames.Count == 1 ? "" : "s";
                console.MarkupLine(textSet is null
                    ? given!.Images is not null
                        ? $"evaluated [bold]{sampleNames.Count}[/] image{plural} from {Markup.Escape(data.ImageFolder(parse)!)} ({Markup.Escape(what)}; {Markup.Escape(given.Preprocessing)}); float model {Markup.Escape(floatPath)}"
                        : $"evaluated [bold]{sampleNames.Count}[/] sample{plural} ({Markup.Escape(what)}; {Markup.Escape(given.Preprocessing)}); float model {Markup.Escape(floatPath)}"
                    : $"evaluated [bold]{sampleNames.Count}[/] sample{plural} ({Markup.Escape(what)}; preset ppocr-cls); float model {Markup.Escape(floatPath)}");
                console.MarkupLine($"output '{Markup.Escape(output.Name)}': {Markup.Escape(output.Summary)}");
                if (accuracies is not null)
                {
                    WriteAccuracy(console, modelNames, accuracies);
                }
                if (candidates.Count > 0)
                {
                    WriteFidelity(console, candidates, output);
                }
                if (classNames is not null)
                {
                    WriteTopK(context.Out, k, sampleNames, modelNames, topK);
                }
                return ExitCodes.Ok;
            }
            finally
            {
                foreach (var c in candidates)
                {
                    c.Executor.Dispose();
                }
            }
        }));
        return command;
    }

    internal static ImageSet ParseSet(string name) => name switch
    {
        "calibration" => ImageSet.Calibration,
        "evaluation" => ImageSet.Evaluation,
        _ => ImageSet.All,
    };

    /// <summary>"∞" for identical outputs, else dB with two decimals.</summary>
    public static string FormatDb(double db) =>
        double.IsPositiveInfinity(db) ? "∞" : double.IsNegativeInfinity(db) ? "-∞" : db.ToString("F2", CultureInfo.InvariantCulture);

    private static Tensor Run(GraphExecutor executor, string path, InputBatch input)
    {
        try
        {
            return executor.Run(Feed(executor.Graph, input)).Output;
        }
        catch (SharpQuantException e)
        {
            throw new SharpQuantException($"'{path}': {e.Message}", e);
        }
    }

    /// <summary>
    /// The batch for a model: by input name, or for a candidate with one input that another tool renamed, by position.
    /// </summary>
    private static IReadOnlyDictionary<string, Tensor> Feed(Graph graph, InputBatch batch)
    {
        if (graph.Inputs.All(i => batch.Tensors.ContainsKey(i.Name)))
        {
            return batch.Tensors;
        }
        if (graph.Inputs.Count == 1 && batch.Tensors.Count == 1)
        {
            return new Dictionary<string, Tensor> { [graph.Inputs[0].Name] = batch.Single };
        }
        var missing = graph.Inputs.First(i => !batch.Tensors.ContainsKey(i.Name));
        throw new SharpQuantException($"no data for input '{missing.Name}' (the data has {string.Join(", ", batch.Tensors.Keys.Select(k => $"'{k}'"))})");
    }

    /// <summary>Labels need class scores with one score per label; anything else is bad input, said in one line.</summary>
    private static void CheckLabels(ModelOutput output, Labels? labels)
    {
        if (labels is not null && output.LabelMismatch(labels.Count) is { } why)
        {
            throw new SharpQuantException($"--labels gives {labels.Count} label{(labels.Count == 1 ? "" : "s")}, but {why}");
        }
    }

    private static void WriteFidelity(IAnsiConsole console, IReadOnlyList<Candidate> candidates, ModelOutput output)
    {
        var table = new Table().AddColumns(output.IsClassScores
            ? ["candidate", "cosine", "SQNR dB", "top-1 agreement", "KL", "max|Δ|"]
            : ["candidate", "cosine", "SQNR dB", "max|Δ|"]);
        foreach (var c in candidates)
        {
            var r = c.Fidelity.Report();
            var cells = new List<string> { Markup.Escape(c.Path), r.MeanCosine.ToString("F6", CultureInfo.InvariantCulture), FormatDb(r.SqnrDb) };
            if (r is { Top1Agreements: { } agreements, MeanKl: { } kl })
            {
                cells.Add($"{100 * r.Top1Agreement:F1} % ({agreements}/{r.Samples})");
                cells.Add(kl.ToString("G4", CultureInfo.InvariantCulture));
            }
            cells.Add(r.MaxAbsDiff.ToString("G4", CultureInfo.InvariantCulture));
            table.AddRow(cells.ToArray());
        }
        console.Write(table);
        if (!output.IsClassScores)
        {
            console.MarkupLine($"top-1 agreement and KL: n/a, not class scores: the output '{Markup.Escape(output.Name)}' is {Markup.Escape(output.Nature)}");
        }
    }

    private static void WriteAccuracy(IAnsiConsole console, IReadOnlyList<string> modelNames, IReadOnlyList<AccuracyReport> accuracies)
    {
        var table = new Table().AddColumns("model", "accuracy");
        for (var m = 0; m < modelNames.Count; m++)
        {
            var a = accuracies[m];
            table.AddRow(
                Markup.Escape((m == 0 ? "float " : "") + modelNames[m]),
                $"{(100 * a.Top1).ToString("F1", CultureInfo.InvariantCulture)} % ({a.Top1Correct}/{a.Samples})");
        }
        console.Write(table);
    }

    private static void WriteTopK(TextWriter output, int k, IReadOnlyList<string> images, IReadOnlyList<string> modelNames, IReadOnlyList<IReadOnlyList<IReadOnlyList<TopKEntry>>> topK)
    {
        // Plain writes, not markup: labels may hold brackets, and the lines match the PyTorch tutorial's.
        for (var i = 0; i < images.Count; i++)
        {
            for (var m = 0; m < modelNames.Count; m++)
            {
                output.WriteLine();
                output.WriteLine($"{images[i]}: top-{k} of {(m == 0 ? "float " : "")}{modelNames[m]}");
                output.Write(TopK.Format(topK[i][m]));
            }
        }
    }

    private sealed record Candidate(string Path, GraphExecutor Executor, FidelityAccumulator Fidelity);
}
