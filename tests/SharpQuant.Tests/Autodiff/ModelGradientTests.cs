using FsCheck;
using FsCheck.Fluent;
using SharpQuant.Autodiff;
using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Runtime;
using SharpQuant.Tests.Support;
using Xunit.Abstractions;

namespace SharpQuant.Tests.Autodiff;

/// <summary>
/// Whole-model gradients against finite differences at a sample of coordinates: random conv nets (every
/// generator feature: strides, asymmetric pads, dilation, groups, depthwise, BatchNorm, PRelu, Clip, pools,
/// residual Adds, Gemm heads), ppocr-cls, and ResNet18 at batch 8; and the quantized ResNet18's gradient graph
/// with respect to every activation quantizer.
/// </summary>
public sealed class ModelGradientTests(ITestOutputHelper log)
{
    /// <summary>
    /// Whole models have ReLU-like kinks everywhere, so the step is small (1e-3 on inputs of order one) to make
    /// straddling one unlikely; float32 rounding noise of the loss divided by 2h stays below 1e-3 of the gradient
    /// scale for these sizes, hence the 1e-2 tolerances.
    /// </summary>
    private static readonly GradientCheckOptions ModelCheck = new() { Step = 1e-3, ScaleTolerance = 1e-2, RelativeTolerance = 1e-2, MaxCoordinates = 12, SkipNonDifferentiable = true };

    public static TheoryData<int> RandomNetSeeds() => [0, 1, 2, 3, 4, 5, 6, 7];

    [Theory]
    [MemberData(nameof(RandomNetSeeds))]
    public void RandomConvNetInputAndWeightGradients(int index)
    {
        // A fixed sample of the generator (FsCheck's Gen with a fixed seed), so the test does not depend on the run.
        var spec = Gen.Sample(RandomConvNets.Specs(), numberOfSamples: 8, seed: new Rnd(20261127UL), size: 50).ToArray()[index];
        log.WriteLine(spec.ToString());
        var graph = RandomConvNets.Build(spec, seed: index);
        var input = graph.Inputs[0].Name;
        var feeds = new Dictionary<string, Tensor> { [input] = RandomConvNets.Input(spec, index) };
        var weights = graph.Nodes.Where(n => n.OpType is "Conv" or "Gemm" or "BatchNormalization" or "PRelu")
            .Select(n => n.Input(1)).Where(v => v.IsConstant).Select(v => v.Name).Distinct().ToArray();
        GradientCheck.AgainstFiniteDifferences(graph, feeds, [input, .. weights], ModelCheck with { Seed = index }, log);
    }

    [SkippableFact]
    public void PpocrInputAndWeightGradients()
    {
        var graph = TestModels.Ppocr();
        // A fixed input shape: the check's weighted loss is a constant of batch 2.
        graph.Inputs[0].Shape = [Dim.Of(2), Dim.Of(3), Dim.Of(48), Dim.Of(192)];
        var feeds = new Dictionary<string, Tensor> { ["x"] = TestModels.PpocrInput(seed: 3, batch: 2) };
        var convs = graph.NodesOfType("Conv").ToList();
        // A depthwise conv and a pointwise one from the second half, and the last conv. Early weights are left out:
        // one of them moves every activation of the 48×192 maps, so any step crosses some of the thousands of
        // ReLU / hard-swish kinks and the difference quotient is not the derivative (measured: a third of the
        // first conv's coordinates flagged as non-differentiable at h = 1e-2 and 1e-3).
        var late = convs.Skip(convs.Count / 2).ToList();
        var depthwise = late.First(n => n.GetInt("group", 1) > 1);
        var pointwise = late.First(n => n.GetInt("group", 1) == 1);
        string[] weights = [depthwise.Input(1).Name, pointwise.Input(1).Name, convs[^1].Input(1).Name];
        // The loss here is a weighted sum of four probabilities (order one): at h = 1e-3 its float32 noise over 2h
        // (about 6e-5) is a percent of the input gradients, so the step is 1e-2.
        GradientCheck.AgainstFiniteDifferences(graph, feeds, ["x", .. weights], ModelCheck with { Seed = 5, Step = 1e-2 }, log);
    }

    [SkippableFact]
    public void PpocrWithSymbolicSizesNeedsInputShapes()
    {
        var graph = TestModels.Ppocr();
        var output = graph.Outputs[0].Name;
        var e = Assert.Throws<SharpQuantException>(() => GradientGraph.Build(graph, GradientRequest.OfOutput(output, SeedKind.Top1, "x")));
        Assert.Contains("InputShapes", e.Message);
        var request = GradientRequest.OfOutput(output, SeedKind.Top1, "x") with { InputShapes = new Dictionary<string, long[]> { ["x"] = [1, 3, 48, 192] } };
        using var runner = new GradientRunner(GradientGraph.Build(graph, request));
        // Built for one sample, run on four: the batch stays symbolic.
        var run = runner.Run(new Dictionary<string, Tensor> { ["x"] = TestModels.PpocrInput(seed: 1, batch: 4) });
        Assert.Equal([4L, 3, 48, 192], run.Gradient("x").Shape);
        Assert.Contains(run.Gradient("x").ToArray<float>(), v => v != 0);
    }

    /// <summary>
    /// Gradients written into reused buffers (what fine-tuning and sensitivity analysis do) are the gradients of fresh
    /// runs, bit for bit: on runs with new inputs and new fed weights, after a change of batch size (ONNX Runtime then
    /// allocates, and the result is copied into resized buffers), and back. Each reused run's tensors hold that run's
    /// values, and the runs with unchanged shapes really wrote straight into the buffers.
    /// </summary>
    [Fact]
    public void GradientsIntoReusedBuffersEqualFreshRuns()
    {
        var graph = TestModels.ResNet18().FoldBatchNorm();
        var input = graph.Inputs[0].Name;
        var convs = graph.NodesOfType("Conv").ToList();
        string[] weights = [convs[0].Input(1).Name, convs[^1].Input(1).Name, convs[^1].Input(2).Name];
        var gradients = GradientGraph.Build(graph, GradientRequest.OfOutput(graph.Outputs[0].Name, SeedKind.Top1, [input, .. weights]));
        using var runner = new GradientRunner(gradients);
        var buffers = new TensorBuffers();
        int[] batches = [2, 2, 1, 2];
        for (var k = 0; k < batches.Length; k++)
        {
            var feeds = new Dictionary<string, Tensor> { [input] = TestModels.ResNet18Input(seed: 20 + k, batch: batches[k]) };
            var original = graph.GetValue(weights[1]).ConstantValue!;
            var parameters = new Dictionary<string, Tensor> { [weights[1]] = Compare.RandomTensor(30 + k, -0.05f, 0.05f, [.. original.Shape]) };
            var reused = runner.Run(feeds, parameters, buffers);
            var fresh = runner.Run(feeds, parameters);
            foreach (var name in weights.Prepend(input))
            {
                Compare.BitwiseEqual(reused.Gradient(name), fresh.Gradient(name));
            }
            Compare.BitwiseEqual(reused.Output(graph.Outputs[0].Name), fresh.Output(graph.Outputs[0].Name));
            Assert.Contains(reused.Gradient(weights[0]).ToArray<float>(), v => v != 0);
        }
        // Run 2 repeats run 1's shapes; run 4 follows a batch-1 run, so its buffers are remembered anew first.
        Assert.Equal(1, buffers.DirectRuns);
    }

    [Fact]
    public void ResNet18InputGradientAtBatch8MatchesFiniteDifferences()
    {
        var graph = TestModels.ResNet18().FoldBatchNorm();
        var input = graph.Inputs[0].Name;
        var x = TestModels.ResNet18Input(seed: 4, batch: 8);
        var gradients = GradientGraph.Build(graph, GradientRequest.OfOutput(graph.Outputs[0].Name, SeedKind.Top1, input));
        using var runner = new GradientRunner(gradients);
        var run = runner.Run(new Dictionary<string, Tensor> { [input] = x });
        // This ResNet18 is a featurizer: its output is the pooled [N, 512, 1, 1] features, and "top-1" is each sample's largest feature.
        var logits = run.Output(graph.Outputs[0].Name);
        Assert.Equal(8, logits.Shape[0]);
        var features = (int)(logits.ElementCount / 8);
        var grad = run.Gradient(input);
        Assert.Equal(x.Shape, grad.Shape);

        // The loss of sample n is its top-1 logit; a perturbation of one pixel of sample n moves only that sample.
        using var forward = new GraphExecutor(graph);
        var top1 = Enumerable.Range(0, 8).Select(n => ArgMax(logits.Floats.Slice(n * features, features))).ToArray();
        var perSample = 3 * 224 * 224;
        var gradScale = grad.ToArray<float>().Max(Math.Abs);
        // Inputs span about 270; a step of 0.5 keeps the loss's float32 noise (about 1e-4 / 2h of one sample's logit)
        // well under the 5 % tolerance relative to the gradient scale.
        const float step = 0.5f;
        var random = new Random(9);
        for (var k = 0; k < 4; k++)
        {
            var n = k * 2 + 1;
            var i = (n * perSample) + random.Next(perSample);
            var original = x.Floats[i];
            x.Floats[i] = original + step;
            var plus = forward.Run(x).Floats[(n * features) + top1[n]];
            x.Floats[i] = original - step;
            var minus = forward.Run(x).Floats[(n * features) + top1[n]];
            x.Floats[i] = original;
            var fd = ((double)plus - minus) / (2 * step);
            var analytic = grad.Floats[i];
            log.WriteLine($"sample {n}, element {i}: analytic {analytic:G5}, finite difference {fd:G5} (gradient scale {gradScale:G4})");
            Assert.True(Math.Abs(analytic - fd) <= (0.05 * gradScale) + (0.05 * Math.Abs(fd)), $"element {i}: analytic {analytic}, finite difference {fd}");
        }
    }

    [Fact]
    public void QuantizedResNet18GradientsWithRespectToEveryActivationQuantizer()
    {
        var folded = TestModels.ResNet18().FoldBatchNorm();
        var sim = QuantSim.Prepare(folded, QConfigMapping.TutorialLearnable(folded));
        // The tutorial's learnable activations start enabled (they bring their initial scale).
        var activations = sim.Quantizers.Where(q => q.Kind == QuantizerKind.Activation && q.FakeQuantEnabled).ToList();
        Assert.True(activations.Count > 10);
        var scales = activations.Select(q => q.Node.Input(1).Name).ToArray();
        var request = GradientRequest.OfOutput(sim.Graph.Outputs[0].Name, SeedKind.Top1, scales) with { GradientScaling = true };
        var gradients = GradientGraph.Build(sim.Graph, request);
        Assert.Equal(scales.Order(), gradients.ParameterInputs.Order());
        using var runner = new GradientRunner(gradients);
        var run = runner.Run(new Dictionary<string, Tensor> { [sim.Graph.Inputs[0].Name] = TestModels.ResNet18Input(seed: 2, batch: 2) });
        var nonZero = 0;
        foreach (var s in scales)
        {
            var g = run.Gradient(s);
            Assert.Equal([1L], g.Shape);
            Assert.True(float.IsFinite(g.Floats[0]), s);
            nonZero += g.Floats[0] != 0 ? 1 : 0;
        }
        log.WriteLine($"{nonZero} of {scales.Length} activation scale gradients are non-zero");
        Assert.True(nonZero >= scales.Length - 1);

        // The forward half of the gradient graph is the simulation (up to the bias grid the simulation's lowering
        // rounds to, which the gradient graph leaves float as PyTorch's LSQ does): top-1 agrees.
        using var executor = sim.CreateExecutor();
        var simLogits = executor.Run(TestModels.ResNet18Input(seed: 2, batch: 2));
        var gradLogits = run.Output(sim.Graph.Outputs[0].Name);
        var width = (int)(simLogits.ElementCount / 2);
        for (var n = 0; n < 2; n++)
        {
            Assert.Equal(ArgMax(simLogits.Floats.Slice(n * width, width)), ArgMax(gradLogits.Floats.Slice(n * width, width)));
        }
    }

    [Fact]
    public void MeanSquaredErrorLossBuiltInTheIr()
    {
        // loss = ReduceMean((y − target)²) appended to the forward graph, target an extra graph input.
        var g = new OpGraph(seed: 21);
        var x = g.Input("x", [2, 3]);
        var y = g.Node("Gemm", [x, g.Constant("w", [4, 3]), g.Constant("b", [4])], A.I("transB", 1));
        g.Output(y);
        var target = g.Graph.AddInput("target", ElementType.Float, [Dim.Of(2), Dim.Of(4)]);
        var diff = g.Node("Sub", [y, target]);
        var squared = g.Node("Mul", [diff, diff]);
        var loss = g.Node("ReduceMean", [squared], A.I("keepdims", 0));
        var gradients = GradientGraph.Build(g.Graph, GradientRequest.OfLoss(loss.Name, "w", "b"));
        using var runner = new GradientRunner(gradients);
        var targetValue = Compare.RandomTensor(4, -1f, 1f, 2, 4);
        var run = runner.Run(new Dictionary<string, Tensor> { ["x"] = g.Feeds["x"], ["target"] = targetValue });
        // d/db of mean((y − t)²) = 2/numel · Σ_n (y − t)[n, :]
        var yv = run.Output(y.Name).ToArray<float>();
        var db = run.Gradient("b").ToArray<float>();
        for (var j = 0; j < 4; j++)
        {
            var expected = (2.0 / 8) * ((yv[j] - targetValue.Floats[j]) + (yv[4 + j] - targetValue.Floats[4 + j]));
            Assert.Equal(expected, db[j], 5);
        }
        Assert.Empty(run.Output(loss.Name).Shape);
    }

    [Fact]
    public void AnOpWithoutARuleIsAnErrorNamingItAndItsNode()
    {
        var g = new OpGraph();
        var x = g.Input("x", [2, 3]);
        g.Output(g.Node("Erf", [x]));
        var e = Assert.Throws<UnsupportedOpException>(() => GradientGraph.Build(g.Graph, GradientRequest.OfOutput(g.Graph.Outputs[0].Name, SeedKind.Sum, "x")));
        Assert.Equal("Erf", e.OpType);
        Assert.Equal("erf0", e.NodeName);
        Assert.Contains("no backward rule", e.Message);
    }

    [Fact]
    public void OnlyWhatTheRequestedGradientsNeedIsBuilt()
    {
        var g = new OpGraph();
        var x = g.Input("x", [1, 2, 5, 5]);
        var w1 = g.Constant("w1", [2, 2, 3, 3]);
        var w2 = g.Constant("w2", [2, 2, 3, 3]);
        var c1 = g.Node("Conv", [x, w1], A.Is("pads", 1, 1, 1, 1));
        var r = g.Node("Relu", [c1]);
        g.Output(g.Node("Conv", [r, w2], A.Is("pads", 1, 1, 1, 1)));
        // The gradient of the last weight needs neither dX of the last conv nor anything of the first.
        var gradients = GradientGraph.Build(g.Graph, GradientRequest.OfOutput(g.Graph.Outputs[0].Name, SeedKind.Sum, "w2"));
        Assert.DoesNotContain(gradients.Graph.Nodes, n => n.OpType == "ConvTranspose");
        Assert.Equal(["w2"], gradients.ParameterInputs);
    }

    [Fact]
    public void KeptConstantsGiveTheSameGradientsAsFedParameters()
    {
        // Conv → Relu → Conv → Gemm: every weight and bias, kept as constants or turned into fed parameters.
        var g = new OpGraph(seed: 31);
        var x = g.Input("x", [2, 3, 6, 6]);
        var c1 = g.Node("Conv", [x, g.Constant("w1", [8, 3, 3, 3]), g.Constant("b1", [8])], A.Is("pads", 1, 1, 1, 1), A.Is("strides", 2, 2));
        var r = g.Node("Relu", [c1]);
        var c2 = g.Node("Conv", [r, g.Constant("w2", [16, 8, 3, 3]), g.Constant("b2", [16])], A.Is("pads", 1, 1, 1, 1));
        var flat = g.Node("Flatten", [c2]);
        g.Output(g.Node("Gemm", [flat, g.Constant("w3", [5, 144]), g.Constant("b3", [5])], A.I("transB", 1)));
        string[] wrt = ["x", "w1", "b1", "w2", "b2", "w3", "b3"];
        var request = GradientRequest.OfOutput(g.Graph.Outputs[0].Name, SeedKind.Sum, wrt);
        var fed = GradientGraph.Build(g.Graph, request);
        var kept = GradientGraph.Build(g.Graph, request with { KeepConstants = true });

        Assert.Equal(wrt.Skip(1).Order(), fed.ParameterInputs.Order());
        Assert.Empty(kept.ParameterInputs);
        Assert.Equal(["x"], kept.Graph.Inputs.Select(v => v.Name));
        Assert.All(wrt.Skip(1), n => Assert.True(kept.Graph.GetValue(n).IsConstant, n));
        Assert.Throws<KeyNotFoundException>(() => kept.DefaultValue("w1"));

        using var fedRunner = new GradientRunner(fed);
        using var keptRunner = new GradientRunner(kept);
        var feeds = new Dictionary<string, Tensor> { ["x"] = g.Feeds["x"] };
        var fedRun = fedRunner.Run(feeds);
        var keptRun = keptRunner.Run(feeds);
        foreach (var name in wrt)
        {
            var expected = fedRun.Gradient(name).ToArray<float>();
            var actual = keptRun.Gradient(name).ToArray<float>();
            Assert.Equal(expected.Length, actual.Length);
            Assert.Contains(expected, v => v != 0f);
            var scale = expected.Max(Math.Abs);
            for (var i = 0; i < expected.Length; i++)
            {
                Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5f * scale, $"{name}[{i}]: {actual[i]} vs {expected[i]}");
            }
        }
        // A kept constant cannot be fed: the runner names it as unknown.
        var e = Assert.Throws<SharpQuantException>(() => keptRunner.Run(feeds, new Dictionary<string, Tensor> { ["w1"] = kept.Graph.GetValue("w1").ConstantValue! }));
        Assert.Contains("'w1' is not a parameter", e.Message);
    }

    [Fact]
    public void KeptConstantWeightGradientIsTheDirectSum()
    {
        // The kept-constant graph's weight and bias gradients against the sum written out (strided, padded 3×3 conv).
        var g = new OpGraph(seed: 32);
        var x = g.Input("x", [2, 2, 5, 5]);
        var c = g.Node("Conv", [x, g.Constant("w", [12, 2, 3, 3]), g.Constant("b", [12])], A.Is("pads", 1, 1, 1, 1), A.Is("strides", 2, 2));
        g.Output(g.Node("Relu", [c]));
        var gradients = GradientGraph.Build(g.Graph, GradientRequest.OfOutput(g.Graph.Outputs[0].Name, SeedKind.Sum, "w", "b") with { KeepConstants = true });
        using var runner = new GradientRunner(gradients);
        var run = runner.Run(new Dictionary<string, Tensor> { ["x"] = g.Feeds["x"] });
        var dw = run.Gradient("w").ToArray<float>();
        var db = run.Gradient("b").ToArray<float>();

        // Σ y over a Relu output: dW[o, i, k] = Σ over positions where the output is positive of the input patch value.
        using var forward = new GraphExecutor(g.Graph);
        var y = forward.Run(g.Feeds["x"]).ToArray<float>();
        var xv = g.Feeds["x"].ToArray<float>();
        for (var o = 0; o < 12; o++)
        {
            var expectedB = 0.0;
            var expectedW = new double[2 * 9];
            for (var n = 0; n < 2; n++)
            {
                for (var oy = 0; oy < 3; oy++)
                {
                    for (var ox = 0; ox < 3; ox++)
                    {
                        if (y[(((n * 12) + o) * 9) + (oy * 3) + ox] <= 0f)
                        {
                            continue;
                        }
                        expectedB += 1;
                        for (var i = 0; i < 2; i++)
                        {
                            for (var k = 0; k < 9; k++)
                            {
                                var iy = (oy * 2) + (k / 3) - 1;
                                var ix = (ox * 2) + (k % 3) - 1;
                                if (iy is >= 0 and < 5 && ix is >= 0 and < 5)
                                {
                                    expectedW[(i * 9) + k] += xv[(((n * 2) + i) * 25) + (iy * 5) + ix];
                                }
                            }
                        }
                    }
                }
            }
            Assert.Equal(expectedB, db[o], 4);
            for (var j = 0; j < 18; j++)
            {
                Assert.Equal(expectedW[j], dw[(o * 18) + j], 4);
            }
        }
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }
        return best;
    }
}
