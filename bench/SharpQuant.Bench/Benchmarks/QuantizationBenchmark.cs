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

        // (1) Calibration vs inference. The steady-state cost of a calibration batch is read from the progress
        // reports: the time between two consecutive reports is one batch (run with taps + observers), without the
        // fixed cost of preparing, creating the tapped session and choosing ranges at the end.
        var mapping = new QConfigMapping().SetGlobal(IntegerFormat.ForThisCpu().Apply(QConfig.Default));
        using var floatExecutor = new GraphExecutor(graph, options);
        floatExecutor.Warm();
        var doubled = batches.Concat(batches).ToList();
        QuantSim? sim = null;
        var intervals = new List<double>();
        var (calibrate, infer) = Timing.Interleave(
            () =>
            {
                sim = QuantSim.Prepare(graph, mapping);
                var clock = new BatchClock();
                sim.Calibrate(doubled, clock, options);
                intervals.AddRange(clock.Intervals);
            },
            () =>
            {
                foreach (var b in doubled)
                {
                    floatExecutor.Run(b);
                }
            },
            warmups: 1,
            rounds: 3);
        var images = doubled.Count * BatchSize;
        var perBatchCalibrate = new Measurement(intervals).MedianMs;
        var perBatchInfer = infer.MedianMs / doubled.Count;
        output.WriteLine(string.Create(c, $"calibration (entropy activations, per-channel min-max weights), batches of {BatchSize} images:"));
        output.WriteLine(string.Create(c, $"  SharpQuant calibrate, {images} images    {calibrate.MedianMs,8:F0} ms end to end ({images / calibrate.MedianMs * 1000:F1} images/s, prepare, session and range search included)"));
        output.WriteLine(string.Create(c, $"  per batch, steady state            {perBatchCalibrate,8:F0} ms   {BatchSize / perBatchCalibrate * 1000,6:F1} images/s (median of {intervals.Count} batch intervals)"));
        output.WriteLine(string.Create(c, $"  plain ORT inference, per batch     {perBatchInfer,8:F0} ms   {BatchSize / perBatchInfer * 1000,6:F1} images/s"));
        var throughput = perBatchInfer / perBatchCalibrate;
        output.WriteLine(string.Create(c, $"  throughput ratio {throughput:F2}x per batch, {infer.MedianMs / calibrate.MedianMs:F2}x end to end for {images} images (target >= 0.8x): {(throughput >= 0.8 ? "PASS" : "MISS")}"));

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

    /// <summary>Records the time between consecutive progress reports (one per calibration batch).</summary>
    private sealed class BatchClock : IProgress<CalibrationProgress>
    {
        private long _last;

        public List<double> Intervals { get; } = [];

        public void Report(CalibrationProgress value)
        {
            var now = System.Diagnostics.Stopwatch.GetTimestamp();
            if (_last != 0)
            {
                Intervals.Add(System.Diagnostics.Stopwatch.GetElapsedTime(_last, now).TotalMilliseconds);
            }
            _last = now;
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
