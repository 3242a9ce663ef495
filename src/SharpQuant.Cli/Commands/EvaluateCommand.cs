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
/// <c>sharpquant evaluate FLOAT.onnx [QUANT.onnx ...] --images DIR</c>: runs the float model and every candidate
/// on the same image batches and reports each candidate's fidelity to the float outputs (cosine, SQNR, top-1
/// agreement, KL, max|Δ|); with <c>--labels</c>, also the top-k classes per image of every model.
/// </summary>
public static class EvaluateCommand
{
    public static Command Create(CliContext context)
    {
        var models = new Argument<string[]>("models")
        {
            Description = "The float model, then the models to compare with it (default: the ImageNet ResNet18 that ships with SharpQuant, alone)",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var images = new Option<string>("--images") { Description = "Folder of images to evaluate on (JPEG, PNG, BMP, WebP)", Required = true };
        var preset = new Option<string>("--preset") { Description = "Image preprocessing: resnet18 or ppocr-cls", DefaultValueFactory = _ => "resnet18" };
        preset.AcceptOnlyFromAmong([.. ImagePresets.Names]);
        var labels = new Option<string>("--labels") { Description = "Class names, one per line or \"index label\" lines; prints the top-k per image" };
        var top = new Option<int>("--top") { Description = "How many classes --labels prints per image", DefaultValueFactory = _ => 5 };
        var batch = new Option<int>("--batch") { Description = "Images per batch", DefaultValueFactory = _ => 8 };
        var json = new Option<bool>("--json") { Description = "Print the results as JSON" };
        var command = new Command("evaluate", "Compare models' outputs with the float model's on images")
        {
            models, images, preset, labels, top, batch, json,
        };
        command.SetAction(parse => context.Runner.Run(parse, () =>
        {
            var given = parse.GetValue(models) ?? [];
            var floatPath = given.Length == 0 ? DefaultModels.ResNet18Path : given[0];
            var candidatePaths = given.Skip(1).ToList();
            var k = parse.GetValue(top);
            if (k < 1)
            {
                throw new UsageException("--top takes 1 or more classes");
            }
            if (parse.GetValue(batch) < 1)
            {
                throw new UsageException("--batch takes 1 or more images");
            }
            var classNames = parse.GetValue(labels) is { } labelPath ? Labels.Load(labelPath) : null;

            var imagePreset = ImagePresets.Create(parse.GetValue(preset)!);
            using var presetResources = imagePreset as IDisposable;
            var data = new ImageBatches(parse.GetValue(images)!, imagePreset, parse.GetValue(batch), includeFlips: false);

            // Every model is loaded before any image is run, so a missing or broken file fails at once.
            var floatGraph = LoadBatchable(floatPath);
            var candidateGraphs = candidatePaths.Select(LoadBatchable).ToList();
            using var reference = new GraphExecutor(floatGraph);
            var candidates = candidatePaths.Zip(candidateGraphs, (p, g) => new Candidate(p, new GraphExecutor(g))).ToList();
            try
            {
                var topK = new List<List<IReadOnlyList<TopKEntry>>>();
                foreach (var input in data.Batches())
                {
                    var expected = Run(reference, floatPath, input);
                    var perModel = new List<IReadOnlyList<IReadOnlyList<TopKEntry>>>();
                    if (classNames is not null)
                    {
                        perModel.Add(TopK.Of(expected, k, classNames));
                    }
                    foreach (var candidate in candidates)
                    {
                        var actual = Run(candidate.Executor, candidate.Path, input);
                        if (!actual.Shape.SequenceEqual(expected.Shape))
                        {
                            throw new SharpQuantException(
                                $"'{candidate.Path}' outputs shape {Shapes.Format(actual.Shape)} but the float model '{floatPath}' outputs {Shapes.Format(expected.Shape)}");
                        }
                        candidate.Fidelity.Add(expected, actual);
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
                foreach (var skipped in data.Skipped)
                {
                    context.Error.WriteLine($"warning: skipped '{skipped}': not a decodable image");
                }
                var used = data.Files.Except(data.Skipped).ToList();
                var modelNames = new[] { floatPath }.Concat(candidatePaths).ToList();
                if (parse.GetValue(json))
                {
                    context.Out.WriteLine(JsonOutput.Serialize(new
                    {
                        model = floatPath,
                        preset = imagePreset.Name,
                        images = used.Count,
                        skipped = data.Skipped,
                        candidates = candidates.Select(c => new { model = c.Path, fidelity = c.Fidelity.Report() }),
                        topK = classNames is null ? null : used.Zip(topK, (file, predictions) => new
                        {
                            image = file,
                            models = modelNames.Zip(predictions, (m, p) => new { model = m, top = p }),
                        }),
                    }));
                    return ExitCodes.Ok;
                }
                var console = ConsoleOutput.For(context.Out);
                console.MarkupLine($"evaluated [bold]{used.Count}[/] image{(used.Count == 1 ? "" : "s")} from {Markup.Escape(parse.GetValue(images)!)} (preset {imagePreset.Name}); float model {Markup.Escape(floatPath)}");
                if (candidates.Count > 0)
                {
                    WriteFidelity(console, candidates);
                }
                if (classNames is not null)
                {
                    WriteTopK(context.Out, k, used, modelNames, topK);
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

    /// <summary>"∞" for identical outputs, else dB with two decimals.</summary>
    public static string FormatDb(double db) =>
        double.IsPositiveInfinity(db) ? "∞" : double.IsNegativeInfinity(db) ? "-∞" : db.ToString("F2", CultureInfo.InvariantCulture);

    private static Graph LoadBatchable(string path)
    {
        var graph = OnnxModel.Load(path);
        // Batch-1 exports (such as the default ResNet18) would refuse a batch of 8 otherwise.
        graph.MakeBatchDynamic();
        return graph;
    }

    private static Tensor Run(GraphExecutor executor, string path, Tensor input)
    {
        try
        {
            return executor.Run(input);
        }
        catch (SharpQuantException e)
        {
            throw new SharpQuantException($"'{path}': {e.Message}", e);
        }
    }

    private static void WriteFidelity(IAnsiConsole console, IReadOnlyList<Candidate> candidates)
    {
        var table = new Table().AddColumns("candidate", "cosine", "SQNR dB", "top-1 agreement", "KL", "max|Δ|");
        foreach (var c in candidates)
        {
            var r = c.Fidelity.Report();
            table.AddRow(
                Markup.Escape(c.Path),
                r.MeanCosine.ToString("F6", CultureInfo.InvariantCulture),
                FormatDb(r.SqnrDb),
                $"{100 * r.Top1Agreement:F1} % ({r.Top1Agreements}/{r.Samples})",
                r.MeanKl.ToString("G4", CultureInfo.InvariantCulture),
                r.MaxAbsDiff.ToString("G4", CultureInfo.InvariantCulture));
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
                output.WriteLine($"{Path.GetFileName(images[i])}: top-{k} of {(m == 0 ? "float " : "")}{modelNames[m]}");
                output.Write(TopK.Format(topK[i][m]));
            }
        }
    }

    private sealed record Candidate(string Path, GraphExecutor Executor)
    {
        public FidelityAccumulator Fidelity { get; } = new();
    }
}
