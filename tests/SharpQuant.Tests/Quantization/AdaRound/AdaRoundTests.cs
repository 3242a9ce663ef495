using SharpQuant.Quantization;
using SharpQuant.Quantization.AdaRound;
using SharpQuant.Runtime;
using SharpQuant.Tests.Autodiff;
using Xunit.Abstractions;
using SharpQuant.Tests.Support;
using static SharpQuant.Tests.Autodiff.A;

namespace SharpQuant.Tests.Quantization.AdaRound;

public sealed class AdaRoundTests(ITestOutputHelper log)
{
    /// <summary>V where h(V) has a kink: h leaves 0 (σ = 1/12), reaches 1 (σ = 11/12), and |2h − 1| turns (V = 0).</summary>
    private static readonly float[] Kinks = [-MathF.Log(11f), 0f, MathF.Log(11f)];

    private const int Batch = 16;

    [Fact]
    public void RectifiedSigmoidAndItsInverseAgree()
    {
        Assert.Equal(0f, RectifiedSigmoid.H(-RectifiedSigmoid.Saturated));
        Assert.Equal(1f, RectifiedSigmoid.H(RectifiedSigmoid.Saturated));
        foreach (var f in new[] { 0f, 0.1f, 0.25f, 0.5f, 0.75f, 0.99f })
        {
            Assert.Equal(f, RectifiedSigmoid.H(RectifiedSigmoid.Inverse(f)), 5);
        }
        Assert.True(RectifiedSigmoid.RoundsUp(RectifiedSigmoid.Inverse(0.5f)));
        Assert.False(RectifiedSigmoid.RoundsUp(RectifiedSigmoid.Inverse(0.49f)));
    }

    [Fact]
    public void BetaIsAnnealedAfterTheWarmUpOnly()
    {
        var options = new AdaRoundOptions { Iterations = 100, WarmUp = 0.2 };
        Assert.Equal((false, 20f), options.Schedule(0));
        Assert.Equal((false, 20f), options.Schedule(19));
        Assert.Equal((true, 20f), options.Schedule(20));
        Assert.Equal(11f, options.Schedule(60).Beta, 3);
        Assert.True(options.Schedule(99).Beta < 2.01f);
        var betas = Enumerable.Range(20, 80).Select(i => options.Schedule(i).Beta).ToArray();
        Assert.True(betas.Zip(betas.Skip(1), (a, b) => b <= a).All(x => x));
    }

    [Theory]
    [InlineData(0, 20f)]
    [InlineData(0, 2f)]
    [InlineData(1, 20f)]
    [InlineData(1, 7.5f)]
    [InlineData(1, 2f)]
    public void RectifiedSigmoidAndRegularizerGradientsMatchFiniteDifferences(int output, float beta)
    {
        var graph = RectifiedSigmoid.Graph([3, 4, 5]);
        // The check differentiates the first output: h(V) itself, or the regularizer.
        graph.SetOutput(0, graph.Outputs[output]);
        var g = new OpGraph(seed: 11);
        var v = Tensor.FromFloats(Uniform(60, -4f, 4f, seed: 5 + output), 3, 4, 5);
        var feeds = new Dictionary<string, Tensor>(StringComparer.Ordinal) { ["v"] = v, ["beta"] = Tensor.Scalar(beta) };
        GradientCheck.AgainstFiniteDifferences(graph, feeds, ["v"], log: log);
    }

    [Theory]
    [InlineData("conv")]
    [InlineData("depthwise")]
    [InlineData("gemm")]
    public void LayerLossGradientMatchesFiniteDifferences(string kind)
    {
        var (model, input) = Model(kind, seed: 3);
        var sim = QuantSim.Prepare(model, Mapping(4, perChannel: true));
        var layer = AdaRoundLayer.Find(sim).Layers[0];
        var x = input;
        Tensor target;
        var row = x.Shape.Skip(1).ToArray();
        using (var reference = new GraphExecutor(layer.Reference(row)))
        {
            target = reference.Run(new Dictionary<string, Tensor> { [AdaRoundLayer.Input] = x }).Output;
        }
        var (floor, _, _) = layer.Grid();
        var problem = layer.Problem(row, target.Shape.Skip(1).ToArray(), floor);
        var count = (int)layer.Weight.ElementCount;
        var feeds = new Dictionary<string, Tensor>(StringComparer.Ordinal)
        {
            [AdaRoundLayer.Input] = x,
            [AdaRoundLayer.Target] = target,
            [AdaRoundLayer.V] = Tensor.FromFloats(Uniform(count, -4f, 4f, seed: 9), layer.Weight.Shape.ToArray()),
            [AdaRoundLayer.Beta] = Tensor.Scalar(4f),
            [AdaRoundLayer.Lambda] = Tensor.Scalar(0.002f),
        };
        GradientCheck.AgainstFiniteDifferences(problem, feeds, [AdaRoundLayer.V], new GradientCheckOptions { Step = 1e-2 }, log);
    }

    [Fact]
    public void HardRoundingReconstructsAFourBitConvBetterThanNearest()
    {
        var (model, input) = Model("conv", seed: 1);
        var sim = QuantSim.Prepare(model, Mapping(4, perChannel: true));
        // Activations are not calibrated, so only the weights are quantized: the simulation's error is the rounding's.
        var nearestError = OutputError(model, sim, input);
        var before = Weight(sim);
        var result = AdaRounder.Run(sim, [input], new AdaRoundOptions { Iterations = 400, BatchSize = 8, Seed = 1 });
        var layer = Assert.Single(result.Layers);
        var adaError = OutputError(model, sim, input);
        log.WriteLine($"loss nearest {layer.NearestLoss:G5} → AdaRound {layer.AdaRoundLoss:G5}, {layer.Flipped} of {layer.Weights} flipped; output MSE {nearestError:G5} → {adaError:G5}");
        Assert.True(layer.AdaRoundLoss < 0.8 * layer.NearestLoss, $"{layer.AdaRoundLoss} vs {layer.NearestLoss}");
        Assert.True(adaError < 0.8 * nearestError, $"{adaError} vs {nearestError}");
        Assert.True(layer.Flipped > 0);
        Assert.False(layer.KeptNearest);
        // Every new weight is a grid point at most one step from the old one, and the scales did not move.
        var q = sim.Quantizers.Single(q => q.Kind == QuantizerKind.Weight);
        var after = Weight(sim);
        var grid = QuantMath.FakeQuantize(Tensor.FromFloats(after, q.Input.ConstantValue!.Shape.ToArray()), q.QParams).ToArray<float>();
        var channel = after.Length / q.QParams.Count;
        for (var i = 0; i < after.Length; i++)
        {
            var s = q.QParams.Scale[i / channel];
            Assert.Equal(after[i], grid[i], s * 1e-4f);
            Assert.True(Math.Abs(after[i] - before[i]) <= s * 1.0001f, $"weight {i} moved {after[i] - before[i]} with step {s}");
        }
    }

    [Fact]
    public void SameSeedGivesTheSameWeightsBitForBit()
    {
        float[] RunOnce(int seed)
        {
            var (model, input) = Model("conv", seed: 2);
            var sim = QuantSim.Prepare(model, Mapping(4, perChannel: true));
            AdaRounder.Run(sim, [input, Model("conv", seed: 4).Input], new AdaRoundOptions { Iterations = 60, BatchSize = 4, Seed = seed });
            return Weight(sim);
        }
        var first = RunOnce(7);
        Assert.Equal(first, RunOnce(7));
        Assert.NotEqual(first, RunOnce(8));
    }

    [Theory]
    [InlineData("depthwise", 4, true)]
    [InlineData("depthwise", 3, false)]
    [InlineData("gemm", 4, true)]
    [InlineData("gemm", 2, false)]
    [InlineData("matmul", 8, false)]
    [InlineData("matmul", 4, true)]
    [InlineData("conv", 2, false)]
    public void OtherLayersWidthsAndGranularitiesRoundAtLeastAsWellAsNearest(string kind, int bits, bool perChannel)
    {
        var (model, input) = Model(kind, seed: 5);
        var sim = QuantSim.Prepare(model, Mapping(bits, perChannel));
        var nearestError = OutputError(model, sim, input);
        var result = AdaRounder.Run(sim, [input], new AdaRoundOptions { Iterations = 200, BatchSize = 8 });
        var layer = Assert.Single(result.Layers);
        var adaError = OutputError(model, sim, input);
        log.WriteLine($"{kind} {bits}-bit {(perChannel ? "per-channel" : "per-tensor")}: loss {layer.NearestLoss:G5} → {layer.AdaRoundLoss:G5}, output MSE {nearestError:G5} → {adaError:G5}, {layer.Flipped}/{layer.Weights} flipped{(layer.KeptNearest ? ", kept nearest" : "")}");
        Assert.Equal(kind switch { "gemm" => "Gemm", "matmul" => "MatMul", _ => "Conv" }, layer.OpType);
        Assert.True(layer.AdaRoundLoss <= layer.NearestLoss, $"{layer.AdaRoundLoss} vs {layer.NearestLoss}");
        Assert.True(adaError <= nearestError * 1.0001, $"{adaError} vs {nearestError}");
    }

    [Fact]
    public void TwoLayersInOrderWithQuantizedOrFloatInputs()
    {
        foreach (var (inputs, targets) in new[] { (AdaRoundInputs.Quantized, AdaRoundTargets.SameInputs), (AdaRoundInputs.Float, AdaRoundTargets.SameInputs), (AdaRoundInputs.Quantized, AdaRoundTargets.FloatModel), (AdaRoundInputs.Float, AdaRoundTargets.FloatModel) })
        {
            var (model, input) = Model("two", seed: 6);
            var sim = QuantSim.Prepare(model, Mapping(3, perChannel: true));
            var nearestError = OutputError(model, sim, input);
            var seen = new List<AdaRoundProgress>();
            var result = AdaRounder.Run(sim, [input], new AdaRoundOptions { Iterations = 150, Inputs = inputs, Targets = targets }, new SyncProgress<AdaRoundProgress>(seen.Add));
            var adaError = OutputError(model, sim, input);
            log.WriteLine($"{inputs} inputs, {targets} targets: output MSE {nearestError:G5} → {adaError:G5}; " + string.Join("; ", result.Layers.Select(l => $"{l.Layer} {l.NearestLoss:G4} → {l.AdaRoundLoss:G4}")));
            Assert.Equal(["conv1", "conv2"], result.Layers.Select(l => l.Layer));
            Assert.Equal([1, 2], seen.Select(p => p.Layer));
            Assert.All(seen, p => Assert.Equal(2, p.Layers));
            Assert.True(adaError < nearestError, $"{inputs}: {adaError} vs {nearestError}");
        }
    }

    [Fact]
    public void BadOptionsAreOneClearError()
    {
        var (model, input) = Model("conv", seed: 1);
        var sim = QuantSim.Prepare(model, Mapping(4, perChannel: true));
        var e = Assert.Throws<SharpQuantException>(() => AdaRounder.Run(sim, [input], new AdaRoundOptions { Iterations = 0 }));
        Assert.Contains("at least 1 iteration", e.Message);
        e = Assert.Throws<SharpQuantException>(() => AdaRounder.Run(sim, [], new AdaRoundOptions()));
        Assert.Contains("at least one batch", e.Message);
    }

    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    internal static QConfigMapping Mapping(int bits, bool perChannel) => new QConfigMapping().SetGlobal(new QConfig(
        new QuantSpec { Bits = 8, Signed = false, Scheme = QuantScheme.Affine },
        new QuantSpec { Bits = bits, Signed = true, Scheme = QuantScheme.Symmetric, Axis = perChannel ? 0 : null }));

    private static float[] Weight(QuantSim sim) => sim.Quantizers.Where(q => q.Kind == QuantizerKind.Weight).SelectMany(q => q.Input.ConstantValue!.ToArray<float>()).ToArray();

    /// <summary>Mean squared difference of the simulation's output from the float model's.</summary>
    private static double OutputError(Graph model, QuantSim sim, Tensor input)
    {
        using var reference = new GraphExecutor(model);
        using var simulated = sim.CreateExecutor();
        var a = reference.Run(input).Floats.ToArray();
        var b = simulated.Run(input).Floats.ToArray();
        return a.Zip(b, (p, q) => ((double)p - q) * (p - q)).Average();
    }

    /// <summary>A one-layer model (Conv+Relu, depthwise Conv+Clip, Gemm+Relu, MatMul) or two convs, with random weights and a batch of inputs.</summary>
    internal static (Graph Model, Tensor Input) Model(string kind, int seed)
    {
        var g = new OpGraph(seed: seed);
        Value x;
        switch (kind)
        {
            case "conv":
                x = g.Input("x", [Batch, 6, 9, 9], -1f, 1f);
                g.Output(g.Node("Relu", [Conv(g, x, "conv", 6, 8, 1)]));
                break;
            case "depthwise":
                {
                    x = g.Input("x", [Batch, 8, 9, 9], -1f, 1f);
                    var y = Conv(g, x, "dw", 8, 8, 8);
                    g.Output(g.Node("Clip", [y, g.Constant("lo", Tensor.Scalar(0f)), g.Constant("hi", Tensor.Scalar(1.5f))]));
                    break;
                }
            case "gemm":
                x = g.Input("x", [Batch, 24], -1f, 1f);
                g.Output(g.Node("Relu", [g.Node("Gemm", [x, g.Constant("w", [10, 24]), g.Constant("b", [10])], I("transB", 1))]));
                break;
            case "matmul":
                x = g.Input("x", [Batch, 24], -1f, 1f);
                g.Output(g.Node("MatMul", [x, g.Constant("w", [24, 12])]));
                break;
            case "two":
                x = g.Input("x", [Batch, 4, 8, 8], -1f, 1f);
                g.Output(g.Node("Relu", [Conv(g, g.Node("Relu", [Conv(g, x, "conv1", 4, 8, 1)]), "conv2", 8, 8, 1)]));
                break;
            default:
                throw new ArgumentException(kind);
        }
        foreach (var (node, i) in g.Graph.Nodes.Select((n, i) => (n, i)))
        {
            node.ModuleName = node.OpType == "Conv" ? node.ModuleName : $"{node.OpType.ToLowerInvariant()}{i}";
        }
        return (g.Graph, Correlated(g.Feeds["x"], seed));
    }

    /// <summary>
    /// Inputs whose channels share a common part (as a real network's activations do): with independent inputs the
    /// reconstruction's curvature is diagonal and nearest rounding is already optimal, so AdaRound has nothing to win.
    /// </summary>
    private static Tensor Correlated(Tensor noise, int seed)
    {
        var shape = noise.Shape.ToArray();
        var channels = (int)shape[1];
        var spatial = (int)(noise.ElementCount / shape[0] / channels);
        var common = Compare.RandomTensor(seed + 100, -1f, 1f, shape[0], spatial).ToArray<float>();
        var data = noise.ToArray<float>();
        for (var i = 0; i < data.Length; i++)
        {
            var n = i / (channels * spatial);
            data[i] = common[(n * spatial) + (i % spatial)] + (0.3f * data[i]);
        }
        return Tensor.FromFloats(data, shape);
    }

    private static Value Conv(OpGraph g, Value x, string name, int inChannels, int outChannels, int group)
    {
        var w = g.Constant(name + ".w", [outChannels, inChannels / group, 3, 3], -0.5f, 0.5f);
        var b = g.Constant(name + ".b", [outChannels], -0.1f, 0.1f);
        var y = g.Node("Conv", [x, w, b], Is("kernel_shape", 3, 3), Is("pads", 1, 1, 1, 1), I("group", group));
        y.Producer!.ModuleName = name;
        return y;
    }

    private static float[] Uniform(int count, float lo, float hi, int seed)
    {
        var random = new Random(seed);
        var data = new float[count];
        for (var i = 0; i < count; i++)
        {
            var v = lo + ((float)random.NextDouble() * (hi - lo));
            foreach (var k in Kinks)
            {
                if (Math.Abs(v - k) < 0.05f)
                {
                    v = v < k ? k - 0.1f : k + 0.1f;
                }
            }
            data[i] = v;
        }
        return data;
    }
}
