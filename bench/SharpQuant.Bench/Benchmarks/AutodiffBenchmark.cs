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
/// against the forward alone, measured interleaved in one run (target at most 3.5×). Two requests: gradients with
/// respect to every weight and bias and the input (the float model; the weights fed as parameters, with and without
/// NCHWc, and kept constants with <see cref="GradientRequest.KeepConstants"/>), and with respect to the scale of every
/// activation quantizer of a QuantSim prepared with the tutorial's learnable qconfigs (against that simulation's
/// own forward). The seed is each sample's top-1 output.
/// </summary>
public sealed class AutodiffBenchmark : IBenchmark
{
    private const int BatchSize = 8;
    private const int Rounds = 5;
    private const double Target = 3.5;

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

        // (1) Float model: every weight and bias, and the input; then the input alone (weights stay constants).
        var parameters = graph.Nodes.Where(n => n.OpType is "Conv" or "Gemm")
            .SelectMany(n => n.Inputs.Skip(1)).Where(v => v is { IsConstant: true }).Select(v => v!.Name).Distinct().ToArray();
        // Weights fed as inputs cannot be prepacked into ONNX Runtime's blocked (NCHWc) layout, so the convolutions
        // of that session mostly run unblocked: it is measured with and without the layout.
        var withoutNchwc = options with { DisabledOptimizers = [QuantSim.NchwcTransformer] };
        Measure(report, graph, feeds, GradientRequest.OfOutput(output0, SeedKind.Top1, [input, .. parameters]),
            $"float ResNet18: d(top-1)/d(input and {parameters.Length} weights and biases)", options, options);
        Measure(report, graph, feeds, GradientRequest.OfOutput(output0, SeedKind.Top1, [input, .. parameters]),
            $"the same, NCHWc layout off in the gradient session", options, withoutNchwc);
        // The weights kept constants (GradientRequest.KeepConstants): ONNX Runtime prepacks them and folds the
        // backward's flipped kernels once, as it does for the forward.
        Measure(report, graph, feeds, GradientRequest.OfOutput(output0, SeedKind.Top1, [input, .. parameters]) with { KeepConstants = true },
            $"the same, weights kept constants (KeepConstants): d(top-1)/d(input and {parameters.Length} weights and biases)", options, options);
        Measure(report, graph, feeds, GradientRequest.OfOutput(output0, SeedKind.Top1, input),
            "float ResNet18: d(top-1)/d(input) (weights constant)", options, options);

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
            var (backward, plain) = Timing.Interleave(() => runner.Run(feeds), () => forward.Run(feeds), warmups: 1, rounds: Rounds);
            report.Figure("forward + backward", backward);
            report.Figure("simulation forward alone", plain);
            report.Ratio("forward + backward / forward", Timing.PairedRatioMedian(backward, plain), 1, atMost: Target, detail: "median of paired ratios");
        }
        report.LoadAverage("load average at end");
    }

    private static void Measure(Report report, Graph graph, Dictionary<string, Tensor> feeds, GradientRequest request, string title,
        ExecutorOptions forwardOptions, ExecutorOptions gradientOptions)
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
        var (backward, plain) = Timing.Interleave(() => runner.Run(feeds), () => forward.Run(feeds), warmups: 1, rounds: Rounds);
        report.Figure("forward + backward", backward);
        report.Figure("forward alone", plain);
        report.Ratio("forward + backward / forward", Timing.PairedRatioMedian(backward, plain), 1, atMost: Target, detail: "median of paired ratios");
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
