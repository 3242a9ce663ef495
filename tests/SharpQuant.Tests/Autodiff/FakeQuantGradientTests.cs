using SharpQuant.Autodiff;
using SharpQuant.Quantization;

namespace SharpQuant.Tests.Autodiff;

/// <summary>
/// The FakeQuant rule against a direct C# transcription of PyTorch's learnable fake-quantize backward kernels
/// (<c>fake_quantize_learnable_tensor_grad_kernel_cpu</c> and the per-channel one): straight-through dx inside
/// the range, LSQ ds and dz, the optional grad factor 1/√(numel · qmax). The STE gradient of x and the
/// rounding term of ds are not derivatives of the forward (which is piecewise constant in x), so finite differences
/// cannot check them; they check dz and the clamped part of ds, which are true derivatives.
/// </summary>
public sealed class FakeQuantGradientTests
{
    /// <summary>float32 sums of a few hundred terms of order one: agreement within 1e-5 of the largest sum.</summary>
    private const double Tolerance = 1e-5;

    private const int QMin = 0;
    private const int QMax = 15;

    private static (Graph Graph, Dictionary<string, Tensor> Feeds, Node Fq) Build(int? axis, bool enabled = true)
    {
        var g = new OpGraph(seed: 11);
        // x/s + z spans [−3.7, 23] for s = 0.15, z = 3: below, inside and above the 4-bit range [0, 15].
        var x = g.Input("x", [2, 3, 4, 4], -1f, 3f);
        var channels = axis is null ? 1 : 3;
        var scale = Enumerable.Range(0, channels).Select(c => 0.15f + (0.02f * c)).ToArray();
        var zero = Enumerable.Range(0, channels).Select(c => 3 - c).ToArray();
        var fq = FakeQuantOp.Insert(g.Graph, x, new QParams(scale, zero, axis, QMin, QMax), "fq", after: null);
        FakeQuantOp.SetEnabled(fq, enabled);
        g.Output(fq.Output);
        return (g.Graph, g.Feeds, fq);
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData(null, true)]
    [InlineData(1, false)]
    [InlineData(1, true)]
    public void MatchesPyTorchLearnableKernels(int? axis, bool gradientScaling)
    {
        var (graph, feeds, fq) = Build(axis);
        var r = GradientCheck.AddWeightedOutput(graph, feeds, seed: 3);
        var s = fq.Input(1).Name;
        var z = fq.Input(2).Name;
        var request = GradientRequest.OfOutput(GradientCheck.WeightedOutput, SeedKind.Sum, "x", s, z) with { GradientScaling = gradientScaling };
        var gradients = GradientGraph.Build(graph, request);
        Assert.Contains(s, gradients.ParameterInputs);
        Assert.Contains(z, gradients.ParameterInputs);
        using var runner = new GradientRunner(gradients);
        var run = runner.Run(feeds);

        var p = FakeQuantOp.Read(fq);
        var (dx, ds, dz) = Reference(feeds["x"], r, p, gradientScaling);
        Assert.Equal(dx, run.Gradient("x").ToArray<float>());
        AssertClose(ds, run.Gradient(s).ToArray<float>());
        AssertClose(dz, run.Gradient(z).ToArray<float>());
        Assert.Contains(ds, v => v != 0);
        Assert.Contains(dz, v => v != 0);
    }

    [Fact]
    public void NewScalesFedAsParametersChangeTheForwardAndTheGradients()
    {
        var (graph, feeds, fq) = Build(axis: null);
        var r = GradientCheck.AddWeightedOutput(graph, feeds, seed: 3);
        var s = fq.Input(1).Name;
        var z = fq.Input(2).Name;
        using var runner = new GradientRunner(GradientGraph.Build(graph, GradientRequest.OfOutput(GradientCheck.WeightedOutput, SeedKind.Sum, s, z)));
        var p = FakeQuantOp.Read(fq) with { Scale = [0.31f], ZeroPoint = [1] };
        var run = runner.Run(feeds, new Dictionary<string, Tensor> { [s] = Tensor.FromFloats([0.31f], 1), [z] = Tensor.FromFloats([1f], 1) });
        var (_, ds, dz) = Reference(feeds["x"], r, p, gradientScaling: false);
        AssertClose(ds, run.Gradient(s).ToArray<float>());
        AssertClose(dz, run.Gradient(z).ToArray<float>());
        var expected = QuantMath.FakeQuantize(feeds["x"], p);
        Assert.Equal(expected.ToArray<float>(), run.Output(graph.Outputs[0].Name).ToArray<float>());
    }

    [Fact]
    public void DisabledFakeQuantIsTheIdentityWithZeroParameterGradients()
    {
        var (graph, feeds, fq) = Build(axis: null, enabled: false);
        var r = GradientCheck.AddWeightedOutput(graph, feeds, seed: 3);
        var s = fq.Input(1).Name;
        using var runner = new GradientRunner(GradientGraph.Build(graph, GradientRequest.OfOutput(GradientCheck.WeightedOutput, SeedKind.Sum, "x", s)));
        var run = runner.Run(feeds);
        Assert.Equal(r.ToArray<float>(), run.Gradient("x").ToArray<float>());
        Assert.Equal([0f], run.Gradient(s).ToArray<float>());
    }

    [Fact]
    public void ZeroPointAndClampedScaleGradientsAreTrueDerivatives()
    {
        // Finite differences of the forward agree with dz everywhere and with ds where every element is clamped.
        var g = new OpGraph(seed: 12);
        var x = g.Input("x", [2, 3, 5], 2f, 4f);
        var fq = FakeQuantOp.Insert(g.Graph, x, new QParams([0.1f], [3], null, QMin, QMax), "fq", after: null);
        g.Output(fq.Output);
        GradientCheck.AgainstFiniteDifferences(g.Graph, g.Feeds, [fq.Input(1).Name], new GradientCheckOptions { Step = 1e-3 });
        // x = s·(k + 0.3) rounds to k. Zero points are whole numbers (the simulation reads them as integers), so z
        // steps by 1; for z in {2, 3, 4} no element lands on q = qmin or qmax, where dz has a kink.
        var h = new OpGraph(seed: 13);
        const float scale = 0.15f;
        var x2 = h.Input("x", [2, 3, 5]);
        int[] ks = [-7, -6, -5, 1, 2, 3, 5, 7, 9, 10, 14, 15, 17, 19, 16];
        h.Feeds["x"] = Tensor.FromFloats(Enumerable.Range(0, 30).Select(i => scale * (ks[(i * 7) % ks.Length] + 0.3f)).ToArray(), 2, 3, 5);
        var fq2 = FakeQuantOp.Insert(h.Graph, x2, new QParams([scale], [3], null, QMin, QMax), "fq", after: null);
        h.Output(fq2.Output);
        GradientCheck.AgainstFiniteDifferences(h.Graph, h.Feeds, [fq2.Input(2).Name], new GradientCheckOptions { Step = 1 });
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var scale = expected.Max(Math.Abs);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= Tolerance * Math.Max(1, scale), $"[{i}] expected {expected[i]}, got {actual[i]}");
        }
    }

    /// <summary>PyTorch's kernels, with our forward's x / s (PyTorch multiplies by 1/s) and float zero points.</summary>
    private static (float[] Dx, float[] Ds, float[] Dz) Reference(Tensor x, Tensor dyTensor, QParams p, bool gradientScaling)
    {
        var data = x.ToArray<float>();
        var dy = dyTensor.ToArray<float>();
        var channels = p.Count;
        var inner = p.Axis is null ? data.Length : (int)(x.Shape[2] * x.Shape[3]);
        var dx = new float[data.Length];
        var ds = new double[channels];
        var dz = new double[channels];
        var factor = gradientScaling ? 1.0 / Math.Sqrt(data.Length * (double)p.QMax) : 1.0;
        for (var i = 0; i < data.Length; i++)
        {
            var c = p.Axis is null ? 0 : (i / inner) % channels;
            var s = p.Scale[c];
            float z = p.ZeroPoint[c];
            var q = MathF.Round(data[i] / s, MidpointRounding.ToEven) + z;
            var xfq = (Math.Clamp(q, p.QMin, p.QMax) - z) * s;
            if (q < p.QMin || q > p.QMax)
            {
                dz[c] += dy[i] * -s * factor;
                ds[c] += dy[i] * (q < p.QMin ? p.QMin - z : p.QMax - z) * factor;
            }
            else
            {
                dx[i] = dy[i];
                ds[c] += dy[i] * (xfq - data[i]) / s * factor;
            }
        }
        return (dx, ds.Select(v => (float)v).ToArray(), dz.Select(v => (float)v).ToArray());
    }
}
