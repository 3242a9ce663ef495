using SharpQuant.Analysis;
using SharpQuant.Autodiff;
using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Tests.Autodiff;
using SharpQuant.Tests.Support;
using Xunit.Abstractions;

namespace SharpQuant.Tests.Analysis;

public class SensitivityAnalysisTests(ITestOutputHelper log)
{
    private const int Channels = 3;

    /// <summary>
    /// y = ReduceSum(fq(ReLU(Conv1x1(fq(x), fq(w))))) with x &gt; 0, output channel 0's weights positive and channel 1's
    /// negative, so channel 0 is always active and channel 1 never: dy/d(ReLU output) = 1 everywhere, dy/dx[n,c,h,w] =
    /// ŵ[0,c] (the quantized weight), dy/dw[0,c] = Σ x̂[n,c,·,·] (the quantized input), dy/dw[1,c] = 0.
    /// </summary>
    internal static (QuantSim Sim, Tensor X, Tensor W) TinyModel()
    {
        var g = new OpGraph(seed: 5);
        var x = g.Input("x", [2, Channels, 5, 4], lo: 0.1f, hi: 1f);
        var random = new Random(11);
        var weights = new float[2 * Channels];
        for (var c = 0; c < Channels; c++)
        {
            weights[c] = 0.2f + (0.8f * (float)random.NextDouble());
            weights[Channels + c] = -0.2f - (0.8f * (float)random.NextDouble());
        }
        var w = Tensor.FromFloats(weights, 2, Channels, 1, 1);
        var conv = g.Node("Conv", [x, g.Constant("w", w)]);
        var relu = g.Node("Relu", [conv]);
        var y = g.Node("ReduceSum", [relu], A.I("keepdims", 0));
        g.Output(y);
        var sim = QuantSim.Prepare(g.Graph, QConfigMapping.Default());
        sim.Calibrate([g.Feeds["x"]]);
        return (sim, g.Feeds["x"], w);
    }

    /// <summary>The bin the histogram puts a value in, with its float arithmetic (x/s, ·5, + offset, floor).</summary>
    private static int BinOf(QuantGridHistogram h, float value, float scale, int zeroPoint)
    {
        var offset = (float)((zeroPoint - h.Start) * QuantGridHistogram.BinsPerStep);
        var position = MathF.Floor((value / scale * QuantGridHistogram.BinsPerStep) + offset);
        return position < 0 || position >= h.BinCount ? -1 : (int)position;
    }

    [Fact]
    public void OnAConvReluSumEachBinHoldsTheClosedFormGradient()
    {
        var (sim, x, w) = TinyModel();
        var result = SensitivityAnalysis.Run(sim, [x], SeedKind.Sum);
        Assert.Equal(2, result.Samples);
        var weight = Assert.Single(result.Weights);
        Assert.Equal(2, result.Activations.Count);
        var input = result.Activations.Single(a => a.Quantizer.Input.Name == "x");
        var reluOut = result.Activations.Single(a => a.Quantizer.Input.Name != "x");

        // The ReLU output: every gradient is 1 (nothing clamped: min-max ranges from these very values), so each bin's
        // gradient sum is its count.
        var rh = reluOut.Histogram;
        Assert.True(rh.HasGradients);
        Assert.Equal(0, rh.Underflow + rh.Overflow);
        Assert.Equal(2 * 5 * 4 * 2, rh.Total);
        for (var b = 0; b < rh.BinCount; b++)
        {
            Assert.Equal((double)rh.Counts[b], rh.GradientSums[b]);
        }

        // The input: dy/dx = ŵ[0, c]; the expected sums are built by binning x with the quantizer's parameters.
        var wq = QuantMath.FakeQuantize(w, weight.Quantizer.QParams);
        var xp = input.Quantizer.QParams;
        var ih = input.Histogram;
        var expected = new double[ih.BinCount];
        var counts = new long[ih.BinCount];
        var xs = x.Floats;
        var plane = 5 * 4;
        for (var i = 0; i < xs.Length; i++)
        {
            var c = i / plane % Channels;
            var bin = BinOf(ih, xs[i], xp.Scale[0], xp.ZeroPoint[0]);
            counts[bin]++;
            expected[bin] += wq.Floats[c];
        }
        Assert.Equal(counts, ih.Counts.ToArray());
        Assert.Equal(expected, ih.GradientSums.ToArray());
        Assert.True(ih.GradientSums.ToArray().Count(s => s != 0) > 10);

        // The weight: dy/dw[0, c] = Σ x̂ of channel c, dy/dw[1, c] = 0, binned in integer units with each channel's scale.
        var xq = QuantMath.FakeQuantize(x, xp);
        var wp = weight.Quantizer.QParams;
        var wh = weight.Histogram;
        var expectedW = new double[wh.BinCount];
        for (var o = 0; o < 2; o++)
        {
            for (var c = 0; c < Channels; c++)
            {
                var gradient = 0.0;
                if (o == 0)
                {
                    for (var n = 0; n < 2; n++)
                    {
                        for (var k = 0; k < plane; k++)
                        {
                            gradient += xq.Floats[(((n * Channels) + c) * plane) + k];
                        }
                    }
                }
                var bin = BinOf(wh, w.Floats[(o * Channels) + c], wp.Scale[o], wp.ZeroPoint[o]);
                expectedW[bin] += gradient;
            }
        }
        for (var b = 0; b < wh.BinCount; b++)
        {
            // ONNX Runtime sums the 40 products in its own order, in float.
            Assert.True(Math.Abs(wh.GradientSums[b] - expectedW[b]) <= 1e-5 * Math.Max(1, Math.Abs(expectedW[b])), $"bin {b}: {wh.GradientSums[b]} vs {expectedW[b]}");
        }
        Assert.Equal(Channels, wh.GradientSums.ToArray().Count(s => s != 0));
        // The overlay's numbers: |sum| over the total, so channel 1's zero gradients take no share.
        var mass = wh.GradientMass();
        Assert.Equal(1, mass.Sum(), 12);
        var total = expectedW.Sum(Math.Abs);
        for (var b = 0; b < wh.BinCount; b++)
        {
            Assert.Equal(Math.Abs(expectedW[b]) / total, mass[b], 6);
        }
    }

    [Fact]
    public void BinnedSumsEqualADirectComputationFromTheTappedValuesAndGradientsOnResNet18()
    {
        var folded = TestModels.ResNet18().FoldBatchNorm();
        var sim = QuantSim.Prepare(folded, QConfigMapping.Default());
        Tensor[] batches = [TestModels.ResNet18Input(seed: 3, batch: 2), TestModels.ResNet18Input(seed: 4, batch: 1)];
        sim.Calibrate(batches);
        // A layer's weight and the activation after it (quantized after the ReLU that follows the conv).
        const string Layer = "stage2.block0.conv1";
        const string Activation = "stage2.block0.relu1";
        var activation = sim.Quantizers.Single(q => q.Kind == QuantizerKind.Activation && q.Target == Activation);
        var weight = sim.Quantizers.Single(q => q.Kind == QuantizerKind.Weight && q.Target == Layer);
        var result = SensitivityAnalysis.Run(sim, batches, SeedKind.Top1, q => q.Target is Layer or Activation);
        Assert.Equal(3, result.Samples);
        Assert.Same(weight, Assert.Single(result.Weights).Quantizer);
        Assert.Same(activation, Assert.Single(result.Activations).Quantizer);

        // The same gradients computed here: the activation tapped as an extra output of a gradient graph of our own.
        var forward = sim.Graph.Clone();
        forward.AddOutput(forward.GetValue(activation.Input.Name));
        var request = GradientRequest.OfOutput(forward.Outputs[0].Name, SeedKind.Top1, activation.Input.Name, weight.Input.Name);
        // The session set up as the analysis sets it up (default options): another set of optimizers changes the float sums
        // in the last bits, and values on a bin edge would change bins.
        using var runner = new GradientRunner(GradientGraph.Build(forward, request));
        var ap = activation.QParams;
        var ah = result.Activations[0].Histogram;
        var counts = new long[ah.BinCount];
        var sums = new double[ah.BinCount];
        var weightGradient = new double[weight.Input.ConstantValue!.ElementCount];
        foreach (var batch in batches)
        {
            var run = runner.Run(new Dictionary<string, Tensor> { [forward.Inputs[0].Name] = batch });
            var values = run.Output(activation.Input.Name).Floats;
            var gradients = run.Gradient(activation.Input.Name).Floats;
            for (var i = 0; i < values.Length; i++)
            {
                var bin = BinOf(ah, values[i], ap.Scale[0], ap.ZeroPoint[0]);
                if (bin >= 0)
                {
                    counts[bin]++;
                    sums[bin] += gradients[i];
                }
            }
            var wg = run.Gradient(weight.Input.Name).Floats;
            for (var i = 0; i < wg.Length; i++)
            {
                weightGradient[i] += wg[i];
            }
        }
        Assert.Equal(counts, ah.Counts.ToArray());
        var scale = sums.Max(Math.Abs);
        Assert.True(scale > 0);
        for (var b = 0; b < sums.Length; b++)
        {
            Assert.True(Math.Abs(sums[b] - ah.GradientSums[b]) <= 1e-9 * scale, $"activation bin {b}: {ah.GradientSums[b]} vs {sums[b]}");
        }

        // The weight: the gradient summed over the batches, then binned once per element with its channel's scale.
        var wp = weight.QParams;
        var wh = result.Weights[0].Histogram;
        var wsums = new double[wh.BinCount];
        var w = weight.Input.ConstantValue!.Floats;
        var perChannel = w.Length / wp.Count;
        for (var i = 0; i < w.Length; i++)
        {
            var c = i / perChannel;
            wsums[BinOf(wh, w[i], wp.Scale[c], wp.ZeroPoint[c])] += weightGradient[i];
        }
        var wscale = wsums.Max(Math.Abs);
        Assert.True(wscale > 0);
        for (var b = 0; b < wsums.Length; b++)
        {
            // The analysis sums the batches in float before binning; here in double.
            Assert.True(Math.Abs(wsums[b] - wh.GradientSums[b]) <= 1e-5 * wscale, $"weight bin {b}: {wh.GradientSums[b]} vs {wsums[b]}");
        }
        log.WriteLine($"{ah.GradientSums.ToArray().Count(s => s != 0)} activation bins and {wh.GradientSums.ToArray().Count(s => s != 0)} weight bins carry gradient");
    }

    [Fact]
    public void AnUncalibratedSimulationIsAClearError()
    {
        var sim = QuantSim.Prepare(TestModels.ResNet18().FoldBatchNorm(), QConfigMapping.Default());
        var e = Assert.Throws<SharpQuantException>(() => SensitivityAnalysis.Run(sim, [TestModels.ResNet18Input(seed: 1)]));
        Assert.Contains("calibrate the simulation", e.Message);
        // Weights alone need no calibration.
        var weightsOnly = SensitivityAnalysis.Run(sim, [TestModels.ResNet18Input(seed: 1)], select: q => q.Kind == QuantizerKind.Weight && q.Target == "stem.conv1");
        Assert.Single(weightsOnly.Weights);
        Assert.True(weightsOnly.Weights[0].Histogram.HasGradients);
    }
}
