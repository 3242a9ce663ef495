using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Runtime;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Quantization;

public class BiasCorrectionTests
{
    [Theory]
    [InlineData(0.0, 1.0, 0.3989422804)]
    [InlineData(2.0, 1.0, 2.0084907)]
    [InlineData(-1.0, 0.5, 0.0042454)]
    [InlineData(1.5, 0.0, 1.5)]
    public void ClippedNormalMeanMatchesTheClosedForm(double mu, double sigma, double expected) =>
        Assert.Equal(expected, BiasCorrection.ClippedNormalMean(mu, sigma), 6);

    [Fact]
    public void ClippedNormalMeanAgreesWithSampling()
    {
        var random = new Random(3);
        double sum = 0;
        const int n = 400_000;
        for (var i = 0; i < n; i++)
        {
            // Box–Muller.
            var z = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            sum += Math.Max(0, 0.3 + 1.7 * z);
        }
        Assert.Equal(sum / n, BiasCorrection.ClippedNormalMean(0.3, 1.7), 2);
    }

    private static QuantSim WeightOnly(Graph graph, int bits)
    {
        var weights = new QuantSpec { Bits = bits, Signed = true, Scheme = QuantScheme.Symmetric, Observer = ObserverKind.MinMax };
        return QuantSim.Prepare(graph, new QConfigMapping().SetGlobal(new QConfig(null, weights)));
    }

    private static double Sqnr(Tensor reference, Tensor candidate)
    {
        double signal = 0, noise = 0;
        var r = reference.Floats;
        var c = candidate.Floats;
        for (var i = 0; i < r.Length; i++)
        {
            signal += r[i] * (double)r[i];
            noise += (r[i] - (double)c[i]) * (r[i] - c[i]);
        }
        return 10 * Math.Log10(signal / noise);
    }

    [SkippableFact]
    public void EmpiricalCorrectionRemovesTheWeightErrorsMeanShiftLayerByLayer()
    {
        var images = RealImages.ResNet18Batch();
        var graph = TestModels.ResNet18().FoldBatchNorm();
        var sim = WeightOnly(graph, 4);
        using var floatRun = new GraphExecutor(graph);
        var reference = floatRun.Run(images);
        var layer = sim.Graph.FindNode("stem.conv1")!;
        var inputs = new Dictionary<string, Tensor> { [graph.Inputs[0].Name] = images };
        var floatMeans = ChannelMeans(floatRun.Run(inputs, [layer.Output.Name])[layer.Output.Name]);
        double before, offsetBefore;
        using (var q = sim.CreateExecutor())
        {
            before = Sqnr(reference, q.Run(images));
            offsetBefore = ChannelMeans(q.Run(inputs, [layer.Output.Name])[layer.Output.Name]).Zip(floatMeans, (a, b) => Math.Abs(a - b)).Max();
        }
        var report = BiasCorrection.Empirical(sim, [images]);
        Assert.Equal(22, report.Corrected.Count);
        Assert.All(report.Corrected, c => Assert.True(double.IsFinite(c.MaxAbsShift)));

        // The stem reads the image itself, so its corrected channel means match the float model's except at
        // the zero-padded border the expectation does not model.
        using var after = sim.CreateExecutor();
        var offsetAfter = ChannelMeans(after.Run(inputs, [layer.Output.Name])[layer.Output.Name]).Zip(floatMeans, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(offsetAfter < 0.2 * offsetBefore, $"largest channel-mean offset {offsetBefore:G3} → {offsetAfter:G3}");
        var improved = Sqnr(reference, after.Run(images));
        Assert.True(improved > before, $"SQNR {before:F2} dB → {improved:F2} dB");
    }

    [SkippableFact]
    public void AnalyticCorrectionNeedsNoDataAndImprovesFourBitWeights()
    {
        var images = RealImages.ResNet18Batch();
        var graph = TestModels.ResNet18().FoldBatchNorm();
        var sim = WeightOnly(graph, 4);
        using var floatRun = new GraphExecutor(graph);
        var reference = floatRun.Run(images);
        double before;
        using (var q = sim.CreateExecutor())
        {
            before = Sqnr(reference, q.Run(images));
        }
        var report = BiasCorrection.Analytic(sim);
        // The stem reads the image (no statistics) and each block's conv1/downsample read an Add's ReLU.
        Assert.Contains(report.Skipped, s => s.Layer == "stem.conv1");
        Assert.Contains(report.Corrected, c => c.Layer == "stage1.block0.conv2");
        using var after = sim.CreateExecutor();
        var improved = Sqnr(reference, after.Run(images));
        Assert.True(improved > before, $"SQNR {before:F2} dB → {improved:F2} dB");
    }

    [SkippableFact]
    public void DataFreeRangesQuantizeEveryActivationWithoutImages()
    {
        var images = RealImages.ResNet18Batch();
        var graph = TestModels.ResNet18().FoldBatchNorm();
        var sim = QuantSim.Prepare(graph, new QConfigMapping().SetGlobal(IntegerFormat.ForThisCpu().Apply(QConfig.Default)));
        using var preset = new SharpQuant.Data.ResNet18Preset();
        var report = DataFreeRanges.Apply(sim, preset.InputRange);
        Assert.Empty(report.Skipped);
        Assert.Equal(sim.Quantizers.Count(q => q.Kind == QuantizerKind.Activation), report.Ranges.Count);
        var relu = report.Ranges.Single(r => r.Quantizer == "stage1.block0.relu1.activation_fake_quant");
        Assert.Equal(0, relu.Lo);
        var stats = BatchNormStats.Of(sim.Graph.FindNode("stage1.block0.conv1")!)!;
        Assert.Equal(stats.Beta.Select((b, c) => b + 6 * Math.Abs(stats.Gamma[c])).Max(), relu.Hi, 4);
        Assert.True(preset.InputRange.Lo < -100 && preset.InputRange.Hi > 130);

        using var floatRun = new GraphExecutor(graph);
        using var quantRun = sim.CreateExecutor();
        Assert.True(Sqnr(floatRun.Run(images), quantRun.Run(images)) > 5);
    }

    private static double[] ChannelMeans(Tensor t)
    {
        var (outer, channels, inner) = QuantMath.ChannelLayout(t.Shape, 1);
        var means = new double[channels];
        var data = t.Floats;
        for (long o = 0; o < outer; o++)
        {
            for (var c = 0; c < channels; c++)
            {
                for (long i = 0; i < inner; i++)
                {
                    means[c] += data[(int)((o * channels + c) * inner + i)];
                }
            }
        }
        return means.Select(m => m / (outer * inner)).ToArray();
    }
}
