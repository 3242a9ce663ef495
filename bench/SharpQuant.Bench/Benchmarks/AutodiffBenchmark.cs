using System.Diagnostics;
using System.Globalization;
using SharpQuant.Autodiff;
using SharpQuant.Models;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Runtime;

namespace SharpQuant.Bench;

/// <summary>
/// Issue #7's figure: one forward + backward run of ResNet18 (BatchNorm folded, batch 8) through its gradient graph
/// against the forward alone, measured interleaved in one run (target at most 3.5×). Requests: gradients with
/// respect to every weight and bias and the input (the float model; the weights fed as parameters, with and without
/// NCHWc, and kept constants with <see cref="GradientRequest.KeepConstants"/>; gradients written into reused buffers,
/// as fine-tuning does, and once into fresh arrays), the weights and biases alone, the input alone, and the scale of
/// every activation quantizer of a QuantSim prepared with the tutorial's learnable qconfigs (against that
/// simulation's own forward). The seed is each sample's top-1 output.
/// </summary>
public sealed class AutodiffBenchmark : IBenchmark
{
    private const int BatchSize = 8;
    private const int Rounds = 5;
    private const double Target = 3.5;

    /// <summary>Runs per block when timing a loop's back-to-back pattern.</summary>
    private const int LoopRuns = 6;

    public string Name => "autodiff";

    public string Description => "ResNet18 (batch 8) forward+backward through the gradient graph vs the forward alone (target <= 3.5x)";

    public void Run(TextWriter output)
    {
        var report = new Report(output);
        report.Title("autodiff: gradient graphs of ResNet18", Description);
        var options = new ExecutorOptions { IntraOpThreads = Environment.ProcessorCount };
        report.Machine(("intra-op threads", options.IntraOpThreads.ToString(CultureInfo.InvariantCulture)), ("batch", BatchSize.ToString(CultureInfo.InvariantCulture)));

        var graph = OnnxModel.Load(DefaultModels.ResNet18Path);
        graph.MakeBatchDynamic();
        graph = graph.FoldBatchNorm();
        var input = graph.Inputs[0].Name;
        var output0 = graph.Outputs[0].Name;
        var batch = RandomImages(1, BatchSize);
        var feeds = new Dictionary<string, Tensor> { [input] = batch };

        // (1) Float model: every weight and bias, and the input; then the weights alone; then the input alone.
        var parameters = graph.Nodes.Where(n => n.OpType is "Conv" or "Gemm")
            .SelectMany(n => n.Inputs.Skip(1)).Where(v => v is { IsConstant: true }).Select(v => v!.Name).Distinct().ToArray();
        var everything = GradientRequest.OfOutput(output0, SeedKind.Top1, [input, .. parameters]);
        // Fine-tuning's form: the weights fed as inputs, each run's gradients written into the buffers of the last.
        Measure(report, graph, feeds, everything, $"float ResNet18: d(top-1)/d(input and {parameters.Length} weights and biases), weights fed, gradients into reused buffers", options, options, Outputs.Reused);
        // Weights fed as inputs cannot be prepacked into ONNX Runtime's blocked (NCHWc) layout, so the convolutions
        // of that session mostly run unblocked: it is measured with and without the layout.
        var withoutNchwc = options with { DisabledOptimizers = [QuantSim.NchwcTransformer] };
        Measure(report, graph, feeds, everything, "the same, NCHWc layout off in the gradient session", options, withoutNchwc, Outputs.Reused);
        // The weights kept constants (GradientRequest.KeepConstants): ONNX Runtime prepacks them and folds the
        // backward's flipped kernels once, as it does for the forward.
        Measure(report, graph, feeds, everything with { KeepConstants = true },
            "the same, weights kept constants (KeepConstants), gradients into reused buffers", options, options, Outputs.Reused);
        // Returning fresh arrays: 47 MB of gradients allocated and copied every run.
        Measure(report, graph, feeds, everything with { KeepConstants = true },
            "the same, every run's gradients in fresh arrays (no TensorBuffers)", options, options, Outputs.Fresh);
        MeasureLoop(report, graph, feeds, everything with { KeepConstants = true }, options);
        // A training step's backward (PyTorch's loss.backward()): the weights and biases, not the input.
        Measure(report, graph, feeds, GradientRequest.OfOutput(output0, SeedKind.Top1, parameters) with { KeepConstants = true },
            $"float ResNet18: d(top-1)/d({parameters.Length} weights and biases) only, kept constants, reused buffers", options, options, Outputs.Reused);
        Measure(report, graph, feeds, GradientRequest.OfOutput(output0, SeedKind.Top1, input),
            "float ResNet18: d(top-1)/d(input) (weights constant)", options, options, Outputs.Reused);

        MeasureFloor(report, graph, feeds, options);

        // (2) Quantized model: the scale of every enabled activation quantizer.
        var sim = QuantSim.Prepare(graph, QConfigMapping.TutorialLearnable(graph));
        var scales = sim.Quantizers.Where(q => q.Kind == QuantizerKind.Activation && q.FakeQuantEnabled).Select(q => q.Node.Input(1).Name).ToArray();
        var buildClock = Stopwatch.StartNew();
        var scaleGradients = GradientGraph.Build(sim.Graph, GradientRequest.OfOutput(output0, SeedKind.Top1, scales) with { GradientScaling = true });
        var buildMs = buildClock.Elapsed.TotalMilliseconds;
        using (var forward = sim.CreateExecutor(options))
        using (var runner = new GradientRunner(scaleGradients, options))
        {
            forward.Warm();
            runner.Warm();
            report.Section($"QuantSim (tutorial learnable qconfigs): d(top-1)/d(scale) of {scales.Length} activation quantizers");
            report.Value("gradient graph build (shape inference included)", buildMs, "ms");
            var buffers = new TensorBuffers();
            Compare(report, () => runner.Run(feeds, reuse: buffers), () => forward.Run(feeds), "forward + backward", "simulation forward alone", Target);
        }
        report.LoadAverage("load average at end");
    }

    /// <summary>Whether each gradient run writes into the buffers of the last (as fine-tuning and sensitivity analysis do) or returns fresh arrays.</summary>
    private enum Outputs
    {
        Reused,
        Fresh,
    }

    private static void Measure(Report report, Graph graph, Dictionary<string, Tensor> feeds, GradientRequest request, string title,
        ExecutorOptions forwardOptions, ExecutorOptions gradientOptions, Outputs outputs)
    {
        var buildClock = Stopwatch.StartNew();
        var gradients = GradientGraph.Build(graph, request);
        var buildMs = buildClock.Elapsed.TotalMilliseconds;
        using var forward = new GraphExecutor(graph, forwardOptions);
        using var runner = new GradientRunner(gradients, gradientOptions);
        forward.Warm();
        runner.Warm();
        report.Section(title);
        report.Value("gradient graph build (shape inference included)", buildMs, "ms");
        report.Text("gradient graph nodes", $"{gradients.Graph.Nodes.Count} (forward {graph.Nodes.Count})");
        var buffers = outputs == Outputs.Reused ? new TensorBuffers() : null;
        Compare(report, () => runner.Run(feeds, reuse: buffers), () => forward.Run(feeds), "forward + backward", "forward alone", Target);
    }

    /// <summary>
    /// Times <paramref name="gradient"/> against <paramref name="forward"/> in interleaved rounds and prints both, the
    /// median of the paired ratios (checked against <paramref name="atMost"/> when given) and the ratio of the fastest
    /// runs. A forward run right after a large gradient run starts with caches full of the gradient's tensors and is
    /// slower than on its own (100-120 ms against 85-90 ms here), which lowers the paired ratios: the fastest runs of
    /// each side give the other bound.
    /// </summary>
    private static void Compare(Report report, Action gradient, Action forward, string gradientLabel, string forwardLabel, double? atMost)
    {
        var (backward, plain) = Timing.Interleave(gradient, forward, warmups: 1, rounds: Rounds);
        report.Figure(gradientLabel, backward);
        report.Figure(forwardLabel, plain);
        report.Ratio($"{gradientLabel} / forward", Timing.PairedRatioMedian(backward, plain), 1, atMost: atMost, detail: "median of paired ratios");
        report.Ratio("fastest / fastest forward alone", backward.MinMs, plain.MinMs, detail: "no target; the paired median is the figure");
    }

    /// <summary>
    /// Runs back to back as a training or analysis loop makes them (no collection forced between runs, unlike the
    /// paired rounds): a block of <see cref="LoopRuns"/> runs into fresh arrays against a block into reused buffers.
    /// </summary>
    private static void MeasureLoop(Report report, Graph graph, Dictionary<string, Tensor> feeds, GradientRequest request, ExecutorOptions options)
    {
        using var runner = new GradientRunner(GradientGraph.Build(graph, request), options);
        runner.Warm();
        var buffers = new TensorBuffers();
        var (fresh, reused) = Timing.Interleave(
            () => Repeat(() => runner.Run(feeds)),
            () => Repeat(() => runner.Run(feeds, reuse: buffers)),
            warmups: 1, rounds: 3);
        report.Section($"the same, {LoopRuns} runs back to back (a loop's pattern): fresh arrays against reused buffers");
        report.Value("per run, fresh arrays", fresh.MedianMs / LoopRuns, "ms", $"median of {fresh.Count} blocks");
        report.Value("per run, reused buffers", reused.MedianMs / LoopRuns, "ms", $"median of {reused.Count} blocks");
        report.Ratio("reused / fresh", reused.MedianMs, fresh.MedianMs);
    }

    private static void Repeat(Action run)
    {
        for (var i = 0; i < LoopRuns; i++)
        {
            run();
        }
    }

    /// <summary>
    /// What the all-weights backward cannot go below with ONNX Runtime's kernels: the forward, plus for every
    /// convolution after the stem the input gradient as the one Conv (stride 1, flipped kernel) or ConvTranspose
    /// (strided) that the gradient graph runs, plus every convolution's weight gradient as the one GEMM it runs
    /// ([M, N·L] × [N·L, K·C]), their operands fed as inputs (so no unfolding, layout change, mask, pooling or
    /// sum is counted). Everything else a gradient graph must also do comes on top of this ratio.
    /// </summary>
    private static void MeasureFloor(Report report, Graph graph, Dictionary<string, Tensor> feeds, ExecutorOptions options)
    {
        var convs = graph.NodesOfType("Conv").ToList();
        Dictionary<string, long[]> shapes;
        using (var probe = new GraphExecutor(graph, options))
        {
            var taps = convs.SelectMany(c => new[] { c.Input(0).Name, c.Output.Name }).Distinct().ToArray();
            var tapped = probe.Run(feeds, taps);
            shapes = taps.ToDictionary(t => t, t => tapped[t].Shape.ToArray(), StringComparer.Ordinal);
        }
        var floor = OnnxModel.Load(OnnxModel.ToBytes(graph));
        var floorFeeds = new Dictionary<string, Tensor>(feeds, StringComparer.Ordinal);
        var index = 0;
        foreach (var conv in floor.NodesOfType("Conv").ToList())
        {
            var w = conv.Input(1).ConstantValue!;
            var x = shapes[conv.Input(0).Name];
            var y = shapes[conv.Output.Name];
            var (m, c, kh, kw) = (w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]);
            var strides = conv.GetInts("strides") ?? [1, 1];
            var pads = conv.GetInts("pads") ?? [0, 0, 0, 0];
            var dy = floor.AddInput($"floor.dy{index}", ElementType.Float, y.Select(Dim.Of).ToArray());
            floorFeeds[dy.Name] = Filled(y, index);
            if (index > 0)
            {
                Value dx;
                if (strides.All(s => s == 1))
                {
                    // The flipped, transposed kernel's shape [C, M, kh, kw]; its values do not change the Conv's speed.
                    var flipped = floor.AddConstant($"floor.w{index}", Filled([c, m, kh, kw], index + 300));
                    dx = floor.AddNode("Conv", [dy, flipped], moduleName: $"floor.dx{index}", attributes: new Dictionary<string, AttributeValue>
                    {
                        ["pads"] = AttributeValue.Of([kh - 1 - pads[0], kw - 1 - pads[1], kh - 1 - pads[2], kw - 1 - pads[3]]),
                        ["kernel_shape"] = AttributeValue.Of([kh, kw]),
                    }).Output;
                }
                else
                {
                    long[] outputPadding = [x[2] - (((y[2] - 1) * strides[0]) + kh - pads[0] - pads[2]), x[3] - (((y[3] - 1) * strides[1]) + kw - pads[1] - pads[3])];
                    dx = floor.AddNode("ConvTranspose", [dy, conv.Input(1)], moduleName: $"floor.dx{index}", attributes: new Dictionary<string, AttributeValue>
                    {
                        ["strides"] = AttributeValue.Of(strides),
                        ["pads"] = AttributeValue.Of(pads),
                        ["output_padding"] = AttributeValue.Of(outputPadding),
                        ["kernel_shape"] = AttributeValue.Of([kh, kw]),
                    }).Output;
                }
                floor.AddOutput(dx);
            }
            var rows = y[0] * y[2] * y[3];
            long[] gradShape = [m, rows];
            long[] patchShape = [rows, kh * kw * c];
            var gradRows = floor.AddInput($"floor.rows{index}", ElementType.Float, gradShape.Select(Dim.Of).ToArray());
            var patches = floor.AddInput($"floor.patches{index}", ElementType.Float, patchShape.Select(Dim.Of).ToArray());
            floorFeeds[gradRows.Name] = Filled(gradShape, index + 100);
            floorFeeds[patches.Name] = Filled(patchShape, index + 200);
            floor.AddOutput(floor.AddNode("MatMul", [gradRows, patches], moduleName: $"floor.dw{index}").Output);
            index++;
        }
        using var forward = new GraphExecutor(graph, options);
        using var compute = new GraphExecutor(floor, options);
        forward.Warm();
        compute.Warm();
        report.Section($"floor: the forward + {index - 1} input-gradient convolutions + {index} weight-gradient GEMMs, operands fed (no other op)");
        var buffers = new TensorBuffers();
        // No target: the 3.5x target leaves the rest of the backward the difference.
        Compare(report, () => compute.Run(floorFeeds, reuse: buffers), () => forward.Run(feeds), "floor", "forward alone", atMost: null);
    }

    /// <summary>Small non-zero values (the GEMMs and convolutions do not depend on them for their speed).</summary>
    private static Tensor Filled(long[] shape, int seed)
    {
        var data = new float[shape.Aggregate(1L, (a, b) => a * b)];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = 1e-3f * ((i + seed) % 97);
        }
        return Tensor.FromFloats(data, shape);
    }

    private static Tensor RandomImages(int seed, int batch)
    {
        var random = new Random(seed);
        var data = new float[batch * 3 * 224 * 224];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)(random.NextDouble() * 255);
        }
        return Tensor.FromFloats(data, batch, 3, 224, 224);
    }
}
