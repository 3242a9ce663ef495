using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using SharpQuant.Models;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Runtime;

namespace SharpQuant.Bench;

/// <summary>
/// Issue #4's figures, measured side by side in one run on the default ResNet18:
/// (1) calibration throughput (QuantSim.Calibrate with the tutorial's activation observer, every activation
/// quantizer tapped) vs plain ONNX Runtime inference of the float model on the same batches (target ≥ 0.8×);
/// (2) latency of the exported int8 QDQ model vs the float model, batch 1 and 8 (target ≥ 2×);
/// (3) the file-size ratio.
/// </summary>
public sealed class QuantizationBenchmark : IBenchmark
{
    private const int BatchSize = 8;
    private const int Batches = 4;

    public string Name => "quantize";

    public string Description => "calibration throughput vs plain ORT, int8 vs float latency (batch 1, 8), file size";

    public void Run(TextWriter output)
    {
        var c = CultureInfo.InvariantCulture;
        var graph = OnnxModel.Load(DefaultModels.ResNet18Path);
        graph.MakeBatchDynamic();
        graph = graph.FoldBatchNorm();
        var batches = Enumerable.Range(0, Batches).Select(i => RandomImages(i, BatchSize)).ToList();
        var options = new ExecutorOptions { IntraOpThreads = Environment.ProcessorCount };

        // (1) Calibration vs inference, interleaved; each calibration starts from a fresh simulation. Calibrating
        // twice as many batches separates the fixed cost (prepare, session, choosing ranges) from the per-batch
        // cost, which is the throughput.
        var mapping = new QConfigMapping().SetGlobal(IntegerFormat.ForThisCpu().Apply(QConfig.Default));
        using var floatExecutor = new GraphExecutor(graph, options);
        floatExecutor.Warm();
        var doubled = batches.Concat(batches).ToList();
        QuantSim? sim = null;
        var (calibrate, infer) = Timing.Interleave(
            () =>
            {
                sim = QuantSim.Prepare(graph, mapping);
                sim.Calibrate(batches, options: options);
            },
            () =>
            {
                foreach (var b in batches)
                {
                    floatExecutor.Run(b);
                }
            },
            warmups: 1,
            rounds: 3);
        var calibrateDoubled = Timing.Measure(() => QuantSim.Prepare(graph, mapping).Calibrate(doubled, options: options), warmups: 0, runs: 3);
        var images = Batches * BatchSize;
        var perBatchCalibrate = (calibrateDoubled.MedianMs - calibrate.MedianMs) / Batches;
        var perBatchInfer = infer.MedianMs / Batches;
        var fixedCost = calibrate.MedianMs - perBatchCalibrate * Batches;
        output.WriteLine(string.Create(c, $"calibration (entropy activations, per-channel min-max weights), batches of {BatchSize} images:"));
        output.WriteLine(string.Create(c, $"  SharpQuant calibrate, {images} images   {calibrate.MedianMs,8:F0} ms end to end ({images / calibrate.MedianMs * 1000:F1} images/s)"));
        output.WriteLine(string.Create(c, $"  SharpQuant calibrate, {2 * images} images   {calibrateDoubled.MedianMs,8:F0} ms end to end"));
        output.WriteLine(string.Create(c, $"  per batch (difference / {Batches})      {perBatchCalibrate,8:F0} ms   {BatchSize / perBatchCalibrate * 1000,6:F1} images/s; fixed cost {fixedCost:F0} ms (prepare, session, ranges)"));
        output.WriteLine(string.Create(c, $"  plain ORT inference, per batch       {perBatchInfer,8:F0} ms   {BatchSize / perBatchInfer * 1000,6:F1} images/s"));
        var throughput = perBatchInfer / perBatchCalibrate;
        output.WriteLine(string.Create(c, $"  throughput ratio (per batch) {throughput:F2}x, end to end for {images} images {infer.MedianMs / calibrate.MedianMs:F2}x (target >= 0.8x): {(throughput >= 0.8 ? "PASS" : "MISS")}"));

        // (2) int8 vs float latency.
        var folder = Directory.CreateTempSubdirectory("sharpquant-bench");
        try
        {
            var int8Path = Path.Combine(folder.FullName, "resnet18-int8.onnx");
            var floatPath = Path.Combine(folder.FullName, "resnet18-float.onnx");
            var report = QdqExport.Save(sim!, int8Path);
            OnnxModel.Save(graph, floatPath);
            output.WriteLine(string.Create(c, $"int8 QDQ export: {report.Weights} weights, {report.Activations} activations, format {IntegerFormat.ForThisCpu().Name}"));
            foreach (var batch in new[] { 1, 8 })
            {
                var input = RandomImages(100 + batch, batch);
                using var so = options.CreateSessionOptions();
                using var floatSession = new InferenceSession(floatPath, so);
                using var int8Session = new InferenceSession(int8Path, so);
                var runs = batch == 1 ? 40 : 10;
                var (f, q) = Timing.Interleave(() => RunTimes(floatSession, input, runs), () => RunTimes(int8Session, input, runs), warmups: 1, rounds: 5);
                var speedup = Timing.PairedRatioMedian(f, q);
                output.WriteLine(string.Create(c, $"  batch {batch}: float {f.MedianMs / runs,7:F2} ms, int8 {q.MedianMs / runs,7:F2} ms per run: {speedup:F2}x faster (target >= 2x): {(speedup >= 2 ? "PASS" : "MISS")}"));
            }
            var sizeRatio = (double)new FileInfo(floatPath).Length / new FileInfo(int8Path).Length;
            output.WriteLine(string.Create(c, $"  file size: float {new FileInfo(floatPath).Length / 1048576.0:F1} MiB, int8 {new FileInfo(int8Path).Length / 1048576.0:F1} MiB: {sizeRatio:F2}x smaller"));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static void RunTimes(InferenceSession session, Tensor input, int runs)
    {
        using var value = OrtValue.CreateTensorValueFromMemory(input.ToArray<float>(), input.Shape.ToArray());
        using var runOptions = new RunOptions();
        for (var i = 0; i < runs; i++)
        {
            using var result = session.Run(runOptions, [session.InputNames[0]], [value], [session.OutputNames[0]]);
        }
    }

    private static Tensor RandomImages(int seed, int count)
    {
        var random = new Random(seed);
        var data = new float[count * 3 * 224 * 224];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)(random.NextDouble() * 270 - 120);
        }
        return Tensor.FromFloats(data, count, 3, 224, 224);
    }
}
