using System.Globalization;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using SharpQuant.Models;
using SharpQuant.Onnx;
using SharpQuant.Runtime;

namespace SharpQuant.Bench;

/// <summary>
/// The cost of the foundation layers on the default ResNet18: importing the model into the IR, creating an executor
/// (export plus ONNX Runtime session) and the per-run overhead of <see cref="GraphExecutor"/> over a bare
/// <see cref="InferenceSession"/>.
/// </summary>
public sealed class FoundationBenchmark : IBenchmark
{
    private const int ImportWarmups = 2;
    private const int ImportRuns = 10;
    private const int SessionWarmups = 1;
    private const int SessionRuns = 5;
    private const int Images = 32;
    private const int Rounds = 9;
    private const int IntraOpThreads = 2;
    private const int Seed = 20240917;
    private const double OverheadTarget = 1.05;
    private const int TinyRunsPerRound = 5000;
    private const int TinyRounds = 8;

    public string Name => "foundation";

    public string Description => "ResNet18: import time, session creation, executor per-run overhead versus bare ONNX Runtime";

    public void Run(TextWriter output)
    {
        var report = new Report(output);
        var path = DefaultModels.ResNet18Path;
        var bytes = File.ReadAllBytes(path);
        var options = new ExecutorOptions
        {
            IntraOpThreads = IntraOpThreads,
            OptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };

        report.Title($"benchmark: {Name}", Description);
        report.Machine(
            ("onnx runtime", OrtEnv.Instance().GetVersionString()),
            ("model", $"{path} ({bytes.Length / (1024.0 * 1024.0):0.0} MiB)"),
            ("session options", $"intra-op threads {options.IntraOpThreads}, inter-op {options.InterOpThreads}, optimization {options.OptimizationLevel}, {options.Provider}"));

        var graph = Import(report, path, bytes);
        SessionCreation(report, graph, bytes, options);
        ExecutorOverhead(report, graph, bytes, options);
        FixedCostPerRun(report, options);

        report.Section("result");
        report.LoadAverage("load average at end");
        report.Line("targets and checks", report.Misses == 0 ? "PASS" : $"{report.Misses} MISS");
    }

    private static Graph Import(Report report, string path, byte[] bytes)
    {
        report.Section($"1. import (median of {ImportRuns} after {ImportWarmups} warm-ups)");
        Graph? graph = null;
        var load = Timing.Measure(() => graph = OnnxModel.Load(path), ImportWarmups, ImportRuns);
        var parse = Timing.Measure(() => GC.KeepAlive(global::Onnx.ModelProto.Parser.ParseFrom(bytes)), ImportWarmups, ImportRuns);
        report.Figure("OnnxModel.Load(path)", load);
        report.Figure("ModelProto.Parser.ParseFrom(bytes) only", parse);
        report.Ratio("ratio Load / ParseFrom", load.MedianMs, parse.MedianMs, detail: "reference: file read + IR build on top of the parse");
        return graph!;
    }

    private static void SessionCreation(Report report, Graph graph, byte[] bytes, ExecutorOptions options)
    {
        report.Section($"2. session creation (interleaved, median of {SessionRuns} after {SessionWarmups} warm-up)");
        var (executor, bare) = Timing.Interleave(
            () =>
            {
                using var e = new GraphExecutor(graph, options);
                e.Warm();
            },
            () =>
            {
                using var sessionOptions = options.CreateSessionOptions();
                using var s = new InferenceSession(bytes, sessionOptions);
            },
            SessionWarmups,
            SessionRuns);
        report.Figure("new GraphExecutor + Warm()", executor);
        report.Figure("new InferenceSession(file bytes)", bare);
        report.Ratio("ratio executor / bare", executor.MedianMs, bare.MedianMs, detail: "executor also exports the IR to ONNX bytes");
    }

    private static void ExecutorOverhead(Report report, Graph graph, byte[] bytes, ExecutorOptions options)
    {
        report.Section($"3. executor overhead ({Images} images at batch 1, {Rounds} interleaved rounds, taps off)");
        var inputName = graph.Inputs[0].Name;
        var outputName = graph.Outputs[0].Name;
        long[] shape = [1, 3, 224, 224];
        var elements = (int)(shape[0] * shape[1] * shape[2] * shape[3]);

        var random = new Random(Seed);
        var data = new float[Images][];
        var tensors = new Tensor[Images];
        for (var i = 0; i < Images; i++)
        {
            data[i] = new float[elements];
            for (var j = 0; j < elements; j++)
            {
                data[i][j] = (float)((random.NextDouble() * 270.0) - 120.0);
            }
            tensors[i] = Tensor.FromFloats(data[i], shape);
        }

        using var executor = new GraphExecutor(graph, options);
        executor.Warm();
        using var sessionOptions = options.CreateSessionOptions();
        using var session = new InferenceSession(bytes, sessionOptions);
        using var runOptions = new RunOptions();
        string[] inputNames = [inputName];
        string[] outputNames = [outputName];

        var executorOutputs = new Tensor[Images];
        var bareOutputs = new float[Images][];
        var (executorTime, bareTime) = Timing.Interleave(
            () =>
            {
                for (var i = 0; i < Images; i++)
                {
                    executorOutputs[i] = executor.Run(tensors[i]);
                }
            },
            () =>
            {
                for (var i = 0; i < Images; i++)
                {
                    using var input = OrtValue.CreateTensorValueFromMemory(data[i], shape);
                    using var outputs = session.Run(runOptions, inputNames, [input], outputNames);
                    bareOutputs[i] = outputs[0].GetTensorDataAsSpan<float>().ToArray();
                }
            },
            warmups: 1,
            Rounds);

        report.Note($"input '{inputName}' [{string.Join(", ", shape)}] float32, values in [-120, 150] (seed {Seed}); output '{outputName}'");
        report.Note("executor: executor.Run(tensor); bare: OrtValue.CreateTensorValueFromMemory + InferenceSession.Run + copy to float[]");
        report.Note("rounds alternate which side goes first; each side's figure is its total for all images in one round");
        report.Figure($"GraphExecutor.Run, {Images} images", executorTime);
        report.Figure($"bare InferenceSession.Run, {Images} images", bareTime);
        report.Value("GraphExecutor throughput", Images / (executorTime.MedianMs / 1000.0), "img/s", $"{Report.Format(executorTime.MedianMs / Images)} ms per image");
        report.Value("bare throughput", Images / (bareTime.MedianMs / 1000.0), "img/s", $"{Report.Format(bareTime.MedianMs / Images)} ms per image");
        report.Value("executor overhead per image", (executorTime.MedianMs - bareTime.MedianMs) / Images, "ms", "difference of the medians");

        var executorAllocated = Timing.AllocatedBytesPerCall(() => GC.KeepAlive(executor.Run(tensors[0])), 50);
        var bareAllocated = Timing.AllocatedBytesPerCall(
            () =>
            {
                using var input = OrtValue.CreateTensorValueFromMemory(data[0], shape);
                using var outputs = session.Run(runOptions, inputNames, [input], outputNames);
                GC.KeepAlive(outputs[0].GetTensorDataAsSpan<float>().ToArray());
            },
            50);
        report.Line("managed allocation per run, executor", $"{executorAllocated} B");
        report.Line("managed allocation per run, bare", $"{bareAllocated} B");

        report.Ratio("ratio executor / bare, min of rounds", executorTime.MinMs, bareTime.MinMs);
        report.Line("ratio executor / bare, median of round pairs", Timing.PairedRatioMedian(executorTime, bareTime).ToString("0.000", CultureInfo.InvariantCulture) + " x");
        report.Ratio("ratio executor / bare, median of rounds", executorTime.MedianMs, bareTime.MedianMs, OverheadTarget);

        var equal = 0;
        for (var i = 0; i < Images; i++)
        {
            if (executorOutputs[i].Bytes.SequenceEqual(MemoryMarshal.AsBytes(bareOutputs[i].AsSpan())))
            {
                equal++;
            }
        }
        report.Check("outputs bitwise equal", equal == Images, $"{equal} of {Images} images identical (last round)");
    }

    /// <summary>
    /// The executor's own cost per run, free of model compute: the same comparison on a one-node model (Relu on
    /// [1, 512, 1, 1], the size of the ResNet18 output), where ONNX Runtime's work is a few microseconds.
    /// </summary>
    private static void FixedCostPerRun(Report report, ExecutorOptions options)
    {
        report.Section($"4. fixed cost per run (one Relu on [1, 512, 1, 1], {TinyRunsPerRound} runs per round, {TinyRounds} interleaved rounds)");
        long[] shape = [1, 512, 1, 1];
        var modelBytes = TinyReluModel(shape);
        var graph = OnnxModel.Load(modelBytes);
        var data = new float[512];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = i - 256;
        }
        var tensor = Tensor.FromFloats(data, shape);

        using var executor = new GraphExecutor(graph, options);
        executor.Warm();
        using var sessionOptions = options.CreateSessionOptions();
        using var session = new InferenceSession(modelBytes, sessionOptions);
        using var runOptions = new RunOptions();
        string[] inputNames = ["x"];
        string[] outputNames = ["y"];

        var (executorTime, bareTime) = Timing.Interleave(
            () =>
            {
                for (var i = 0; i < TinyRunsPerRound; i++)
                {
                    GC.KeepAlive(executor.Run(tensor));
                }
            },
            () =>
            {
                for (var i = 0; i < TinyRunsPerRound; i++)
                {
                    using var input = OrtValue.CreateTensorValueFromMemory(data, shape);
                    using var outputs = session.Run(runOptions, inputNames, [input], outputNames);
                    GC.KeepAlive(outputs[0].GetTensorDataAsSpan<float>().ToArray());
                }
            },
            warmups: 1,
            TinyRounds);
        const double usPerRun = 1000.0 / TinyRunsPerRound;
        report.Value("GraphExecutor.Run", executorTime.MedianMs * usPerRun, "us", $"per run; min {Report.Format(executorTime.MinMs * usPerRun)}");
        report.Value("bare InferenceSession.Run", bareTime.MedianMs * usPerRun, "us", $"per run; min {Report.Format(bareTime.MinMs * usPerRun)}");
        report.Value("executor fixed cost per run", (executorTime.MedianMs - bareTime.MedianMs) * usPerRun, "us", "what the executor adds to every run, whatever the model");
    }

    private static byte[] TinyReluModel(long[] shape)
    {
        var graph = new global::Onnx.GraphProto { Name = "relu" };
        var node = new global::Onnx.NodeProto { OpType = "Relu", Name = "relu" };
        node.Input.Add("x");
        node.Output.Add("y");
        graph.Node.Add(node);
        graph.Input.Add(FloatValue("x", shape));
        graph.Output.Add(FloatValue("y", shape));
        var model = new global::Onnx.ModelProto { IrVersion = 8, Graph = graph, ProducerName = "SharpQuant.Bench" };
        model.OpsetImport.Add(new global::Onnx.OperatorSetIdProto { Domain = "", Version = 13 });
        return model.ToByteArray();
    }

    private static global::Onnx.ValueInfoProto FloatValue(string name, long[] shape)
    {
        var tensorShape = new global::Onnx.TensorShapeProto();
        foreach (var d in shape)
        {
            tensorShape.Dim.Add(new global::Onnx.TensorShapeProto.Types.Dimension { DimValue = d });
        }
        return new global::Onnx.ValueInfoProto
        {
            Name = name,
            Type = new global::Onnx.TypeProto { TensorType = new global::Onnx.TypeProto.Types.Tensor { ElemType = 1, Shape = tensorShape } },
        };
    }
}
