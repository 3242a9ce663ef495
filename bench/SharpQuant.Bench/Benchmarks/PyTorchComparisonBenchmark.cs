using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SharpQuant.Analysis;
using SharpQuant.IO;
using SharpQuant.Models;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Runtime;

namespace SharpQuant.Bench;

/// <summary>
/// SharpQuant against PyTorch 1.13, side by side in one run, on the default ResNet18 with BatchNorm folded:
/// PyTorch's default FX post-training recipe (bench/pytorch/fx_ptq.py: prepare_fx with the onednn default qconfig
/// mapping, calibrated on exactly the batches SharpQuant calibrates on, exported as its fake-quantized ONNX model)
/// and SharpQuant's int8 exports (default; with CLE; with CLE and bias correction), all scored by the same evaluator
/// against the float model on the same evaluation samples; and PyTorch's <c>_equalize.equalize</c> timed beside
/// SharpQuant's CLE on the same folded weights, whose results must agree in max−min mode. Needs Debian's
/// python3-torch, python3-torchvision and python3-onnx; skipped with a message otherwise.
/// </summary>
public sealed class PyTorchComparisonBenchmark : IBenchmark
{
    private const string Python = "/usr/bin/python3";
    private const int BatchSize = 8;
    private const int EqualizeRuns = 7;
    private static readonly TimeSpan PythonLimit = TimeSpan.FromMinutes(20);

    /// <summary>The converted PyTorch float model must reproduce the ONNX model to float32 rounding.</summary>
    private const double ConversionTolerance = 1e-4;

    public string Name => "pytorch";

    public string Description => "ResNet18 w8a8: SharpQuant's exports vs PyTorch's default FX PTQ recipe on the same samples; CLE time vs PyTorch's equalize";

    public void Run(TextWriter output)
    {
        if (!Directory.Exists(SharedPhotoSplit.Folder()))
        {
            output.WriteLine($"skipped: {SharedPhotoSplit.Folder()} not found");
            return;
        }
        if (TorchMissing() is { } why)
        {
            output.WriteLine($"skipped: {why} (apt-get install python3-torch python3-torchvision python3-onnx)");
            return;
        }
        var c = CultureInfo.InvariantCulture;
        var (calibration, evaluation, samples) = SharedPhotoSplit.Load(output, BatchSize)!;
        var graph = OnnxModel.Load(DefaultModels.ResNet18Path);
        graph.MakeBatchDynamic();
        var folded = graph.FoldBatchNorm();
        var discovery = EqualizationSetFinder.Find(folded);

        var work = Directory.CreateTempSubdirectory("sharpquant-pytorch-bench-");
        try
        {
            OnnxModel.Save(folded, Path.Combine(work.FullName, "folded.onnx"));
            for (var i = 0; i < calibration.Count; i++)
            {
                NpyFile.Write(Path.Combine(work.FullName, $"calibration_{i:D3}.npy"), calibration[i]);
            }
            for (var i = 0; i < evaluation.Count; i++)
            {
                NpyFile.Write(Path.Combine(work.FullName, $"evaluation_{i:D3}.npy"), evaluation[i]);
            }
            File.WriteAllText(Path.Combine(work.FullName, "sets.json"),
                JsonSerializer.Serialize(discovery.Sets.Select(s => s.Layers.Select(l => l.Name).ToArray()).ToArray()));
            var pythonClock = Stopwatch.StartNew();
            RunPython(work.FullName);
            pythonClock.Stop();
            using var pytorch = JsonDocument.Parse(File.ReadAllText(Path.Combine(work.FullName, "pytorch.json")));
            var torchVersion = pytorch.RootElement.GetProperty("torch").GetString();
            output.WriteLine(string.Create(c, $"pytorch: ResNet18 (BatchNorm folded) on {CpuFeatures.Detect().Describe()}; PyTorch {torchVersion}, {pytorch.RootElement.GetProperty("threads").GetInt32()} threads; its side took {pythonClock.Elapsed.TotalSeconds:F1} s"));
            output.WriteLine($"  {samples}");

            using var reference = new GraphExecutor(folded);
            var floatOutputs = evaluation.Select(reference.Run).ToList();
            CheckConversion(output, Path.Combine(work.FullName, "pytorch-float.onnx"), evaluation, floatOutputs);

            var format = IntegerFormat.ForThisCpu();
            output.WriteLine($"  SharpQuant's integer format: {format.Name} ({format.Reason})");
            output.WriteLine("  | candidate | cosine | SQNR dB | max abs diff |");
            output.WriteLine("  |---|---|---|---|");
            var pytorchFx = OnnxModel.Load(Path.Combine(work.FullName, "pytorch-fx-ptq.onnx"));
            var equalized = folded.Equalize();
            // ONNX Runtime's WeightBiasQuantization optimizer quantizes the float weights of a Conv between
            // DequantizeLinear and QuantizeLinear per tensor, on top of PyTorch's per-channel fake quantization; the
            // first row leaves it out so the ONNX model computes what PyTorch's simulation computes.
            var asPyTorchComputes = new ExecutorOptions { DisabledOptimizers = ["WeightBiasQuantization"] };
            var candidates = new (string Label, Func<int, Tensor> Outputs, IDisposable? Owner)[]
            {
                Executed("PyTorch FX PTQ, onednn default qconfig: its fake-quant ONNX export", pytorchFx, asPyTorchComputes, evaluation),
                Executed("the same ONNX file with ONNX Runtime's default optimizations", pytorchFx, null, evaluation),
                ("PyTorch FX PTQ converted to int8 (convert_fx), run by PyTorch's onednn kernels",
                    i => NpyFile.Read(Path.Combine(work.FullName, $"onednn_output_{i:D3}.npy")), null),
                Executed("SharpQuant quantize --bias-correction none", SharpQuantExport(folded, calibration, format, biasCorrection: false), null, evaluation),
                Executed("SharpQuant quantize (default: empirical bias correction)", SharpQuantExport(folded, calibration, format, biasCorrection: true), null, evaluation),
                Executed("SharpQuant quantize --equalize --bias-correction none", SharpQuantExport(equalized, calibration, format, biasCorrection: false), null, evaluation),
                Executed("SharpQuant quantize --equalize (CLE and bias correction)", SharpQuantExport(equalized, calibration, format, biasCorrection: true), null, evaluation),
            };
            foreach (var (label, outputs, owner) in candidates)
            {
                var fidelity = new FidelityAccumulator();
                for (var i = 0; i < evaluation.Count; i++)
                {
                    fidelity.Add(floatOutputs[i], outputs(i));
                }
                owner?.Dispose();
                var r = fidelity.Report();
                output.WriteLine(string.Create(c, $"  | {label} | {r.MeanCosine:F5} | {r.SqnrDb:F2} | {r.MaxAbsDiff:F3} |"));
            }
            output.WriteLine("  (top-1 agreement and KL do not apply: the output is a 512-d embedding, not class scores)");

            CompareEqualization(output, folded, pytorch.RootElement, Path.Combine(work.FullName, "equalized"));
        }
        finally
        {
            // SHARPQUANT_BENCH_KEEP=1 keeps the exchanged files (models, batches, PyTorch's results) for a closer look.
            if (Environment.GetEnvironmentVariable("SHARPQUANT_BENCH_KEEP") == "1")
            {
                output.WriteLine($"  kept {work.FullName}");
            }
            else
            {
                work.Delete(recursive: true);
            }
        }
    }

    /// <summary>A candidate that ONNX Runtime runs on the evaluation batches; the executor is disposed once scored.</summary>
    private static (string, Func<int, Tensor>, IDisposable?) Executed(string label, Graph graph, ExecutorOptions? options, IReadOnlyList<Tensor> evaluation)
    {
        var executor = new GraphExecutor(graph, options);
        return (label, i => executor.Run(evaluation[i]), executor);
    }

    /// <summary>What `sharpquant quantize --images` does: entropy uint8 activations, per-channel min-max weights, the CPU's format, and by default empirical bias correction.</summary>
    private static Graph SharpQuantExport(Graph source, IReadOnlyList<Tensor> calibration, IntegerFormat format, bool biasCorrection)
    {
        var sim = CliQConfig.Calibrated(source, calibration, format);
        if (biasCorrection)
        {
            BiasCorrection.Empirical(sim, calibration);
        }
        return QdqExport.ToGraph(sim, out _, format);
    }

    private static void CheckConversion(TextWriter output, string path, List<Tensor> evaluation, List<Tensor> floatOutputs)
    {
        using var converted = new GraphExecutor(OnnxModel.Load(path));
        var worst = 0.0;
        for (var i = 0; i < evaluation.Count; i++)
        {
            var expected = floatOutputs[i].ToArray<float>();
            var actual = converted.Run(evaluation[i]).ToArray<float>();
            var scale = expected.Max(Math.Abs);
            worst = Math.Max(worst, expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max() / scale);
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  PyTorch's float model vs SharpQuant's: max |Δ| / max |y| = {worst:E2}"));
        if (worst > ConversionTolerance)
        {
            throw new SharpQuantException($"the model converted to PyTorch does not reproduce the ONNX model ({worst:E2} > {ConversionTolerance:E0})");
        }
    }

    private static void CompareEqualization(TextWriter output, Graph folded, JsonElement pytorch, string equalizedFolder)
    {
        var c = CultureInfo.InvariantCulture;
        var pass = new EqualizeCrossLayer(new EqualizationOptions { Ranges = RangeMode.MaxMin, Threshold = 1e-4 });
        pass.Run(folded);
        var times = new List<double>();
        Graph? result = null;
        for (var i = 0; i < EqualizeRuns; i++)
        {
            var run = pass.Run(folded);
            times.Add(run.Report.Elapsed.TotalMilliseconds);
            result = run.Graph;
        }
        var ours = new Measurement(times);
        var theirs = new Measurement(pytorch.GetProperty("equalize_ms").EnumerateArray().Select(e => e.GetDouble()).ToList());
        var names = pytorch.GetProperty("module_names");
        var worst = 0.0;
        var compared = 0;
        foreach (var conv in result!.Nodes.Where(n => n.OpType == "Conv"))
        {
            var module = names.GetProperty(conv.Name).GetString()!;
            foreach (var (input, suffix) in new[] { (1, "weight"), (2, "bias") })
            {
                var expected = NpyFile.Read(Path.Combine(equalizedFolder, $"{module}.{suffix}.npy")).ToArray<float>();
                var actual = conv.Input(input).ConstantValue!.ToArray<float>();
                var scale = Math.Max(expected.Max(Math.Abs), float.Epsilon);
                worst = Math.Max(worst, expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max() / scale);
            }
            compared++;
        }
        output.WriteLine("  equalization of the same folded weights (max−min ranges, threshold 1e-4, 9 pairs):");
        output.WriteLine(string.Create(c, $"    PyTorch _equalize.equalize (given the pairs)      median {theirs.MedianMs,8:F1} ms   min {theirs.MinMs,8:F1} ms"));
        output.WriteLine(string.Create(c, $"    SharpQuant find sets + equalize (pass timer)     median {ours.MedianMs,8:F1} ms   min {ours.MinMs,8:F1} ms"));
        output.WriteLine(string.Create(c, $"    SharpQuant is {theirs.MedianMs / ours.MedianMs:F1}x faster (medians); weights and biases of {compared} convs agree to max |Δ| / max |w| = {worst:E2}"));
    }

    private static string? TorchMissing()
    {
        if (!File.Exists(Python))
        {
            return $"{Python} not found";
        }
        var (code, _, error) = Exec(Python, ["-c", "import torch, torchvision, onnx"], TimeSpan.FromMinutes(2));
        return code == 0 ? null : $"{Python} lacks torch, torchvision or onnx ({error.Trim().Split('\n').LastOrDefault()})";
    }

    private static void RunPython(string work)
    {
        var script = Path.Combine(PpocrResultsBenchmark.RepositoryRoot(), "bench", "pytorch", "fx_ptq.py");
        var (code, _, error) = Exec(Python, [script, work], PythonLimit);
        if (code != 0)
        {
            throw new SharpQuantException($"{script} failed (exit {code}): {error.Trim()}");
        }
    }

    private static (int Code, string Output, string Error) Exec(string file, string[] arguments, TimeSpan limit)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }
        using var process = Process.Start(info) ?? throw new SharpQuantException($"cannot start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            throw new SharpQuantException($"{file} did not finish within {limit.TotalMinutes:F0} minutes");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
