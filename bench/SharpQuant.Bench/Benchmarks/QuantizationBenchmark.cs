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
/// quantizer tapped) vs plain ONNX Runtime inference of the float model on the same batches (target ≥ 0.8×), per
/// batch in the steady state and end to end with every fixed cost on both sides (session creation included);
/// (2) latency of the exported int8 QDQ model vs the float model, batch 1 and 8 (target ≥ 2×);
/// (3) the file-size ratio.
/// </summary>
public sealed class QuantizationBenchmark : IBenchmark
{
    private const int BatchSize = 8;
    private const int Batches = 4;
    private const int Warmups = 1;
    private const int Rounds = 5;

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

        // (1) Calibration vs inference, both from scratch in every round: calibrate = prepare + calibrate (its ONNX
        // Runtime session is created lazily in the first batch, the ranges chosen at the end); inference = create an
        // executor for the float model + run the same batches. The two are interleaved, so drift in the machine
        // falls on both alike, and compared per round (paired ratios). Steady state, per batch: for calibration the
        // time between two consecutive progress reports (one batch run with its taps, then observed), for inference the time of each run after the first (the first creates the session).
        var mapping = new QConfigMapping().SetGlobal(IntegerFormat.ForThisCpu().Apply(QConfig.Default));
        var load = new Report(output);
        load.LoadAverage("load average before calibration vs inference");
        var doubled = batches.Concat(batches).ToList();
        QuantSim? sim = null;
        var calibrateSteady = new List<double>();
        var inferSteady = new List<double>();
        var inferFirst = new List<double>();
        var (calibrate, infer) = Timing.Interleave(
            () =>
            {
                sim = QuantSim.Prepare(graph, mapping);
                var clock = new BatchClock();
                sim.Calibrate(doubled, clock, options);
                calibrateSteady.Add(new Measurement(clock.Intervals).MedianMs);
            },
            () =>
            {
                using var executor = new GraphExecutor(graph, options);
                var runs = new List<double>();
                foreach (var b in doubled)
                {
                    runs.Add(Timing.TimeMs(() => executor.Run(b)));
                }
                inferFirst.Add(runs[0]);
                inferSteady.Add(new Measurement(runs[1..]).MedianMs);
            },
            warmups: Warmups,
            rounds: Rounds);
        // The warm-up round's figures are not samples.
        calibrateSteady.RemoveRange(0, Warmups);
        inferSteady.RemoveRange(0, Warmups);
        inferFirst.RemoveRange(0, Warmups);
        var images = doubled.Count * BatchSize;
        var perBatchCalibrate = new Measurement(calibrateSteady).MedianMs;
        var perBatchInfer = new Measurement(inferSteady).MedianMs;
        var steadyRatio = new Measurement(inferSteady.Zip(calibrateSteady, (i, q) => i / q).ToArray()).MedianMs;
        var endToEndRatio = Timing.PairedRatioMedian(infer, calibrate);
        output.WriteLine(string.Create(c, $"calibration (entropy activations, per-channel min-max weights) vs float inference, {doubled.Count} batches of {BatchSize} images, medians of {Rounds} interleaved rounds:"));
        output.WriteLine(string.Create(c, $"  per batch, steady state: calibrate {perBatchCalibrate,6:F0} ms ({BatchSize / perBatchCalibrate * 1000:F1} images/s), inference {perBatchInfer,6:F0} ms ({BatchSize / perBatchInfer * 1000:F1} images/s)"));
        output.WriteLine(string.Create(c, $"  end to end, {images} images: calibrate {calibrate.MedianMs,6:F0} ms (prepare, session, observers, range search), inference {infer.MedianMs,6:F0} ms (executor creation {new Measurement(inferFirst).MedianMs:F0} ms with the first batch, then the rest)"));
        output.WriteLine(string.Create(c, $"  throughput ratio (inference time / calibration time, paired per round): steady state {steadyRatio:F2}x, end to end {endToEndRatio:F2}x (target >= 0.8x): {(steadyRatio >= 0.8 ? "PASS" : "MISS")} steady, {(endToEndRatio >= 0.8 ? "PASS" : "MISS")} end to end"));
        load.LoadAverage("load average after");

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
