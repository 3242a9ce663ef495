using FsCheck.Xunit;
using SharpQuant.Data;
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

    /// <summary>
    /// How far the fast correction's shifts may lie from the sequential ones on ResNet18 w8a8 (per-tensor weights) with
    /// the photos below: ‖fast − sequential‖ / ‖sequential‖ over every bias. Two passes measured 0.63 % here (0.2–0.3 %
    /// in the bench, `-- bias-correction`), a single pass, which has no upstream correction in any layer's input, 4.3 %
    /// (1.6–4.1 % in the bench); the bound sits between them, so a fast form that lost its second pass fails.
    /// </summary>
    private const double ShiftDeviationBound = 0.01;

    /// <summary>
    /// The embedding SQNR the fast form may lose against the sequential one. Shifts that differ by under 1 % flip some
    /// integer roundings, which moves the SQNR of these few samples either way: with 1, 2, 3 and 5 passes (all within
    /// 4.3 % of the sequential shifts, 3 and 5 within 0.5 %) it spread 0.07–0.22 dB around the sequential figure on
    /// the calibration photos and 0.05–0.18 dB on the evaluation photos, where correcting gains 2.1 and 0.4 dB.
    /// </summary>
    private const double SqnrSlackDb = 0.25;

    /// <summary>
    /// Where both forms measure the same input, their shifts differ only by how the means are summed: ONNX Runtime's
    /// GlobalAveragePool in float32 against a double sum of the tapped tensor, some 1e-6 of a mean over a feature map.
    /// </summary>
    private const double RoundingBound = 1e-4;

    [SkippableFact]
    public void FastEmpiricalCorrectionAgreesWithTheSequentialOneOnResNet18Photos()
    {
        TestData.RequireSharedData();
        var files = ImageFiles.List(TestData.ImagesFolder);
        List<Tensor> calibration, evaluation;
        using (var preset = new ResNet18Preset())
        {
            // Four photos, whole and mirrored, calibrate in two batches; the other five evaluate.
            var photos = files.Take(4).Select(ImageFiles.Decode).ToList();
            calibration = [ImagePreset.Batch(photos.Select(preset.ToTensor).ToList()), ImagePreset.Batch(photos.Select(p => preset.ToTensor(ImageFiles.FlipHorizontal(p))).ToList())];
            evaluation = [ImagePreset.Batch(files.Skip(4).Select(f => preset.ToTensor(ImageFiles.Decode(f))).ToList())];
        }
        var graph = TestModels.ResNet18().FoldBatchNorm();
        QuantSim Calibrated()
        {
            var sim = QuantSim.Prepare(graph, new QConfigMapping().SetGlobal(IntegerFormat.ForThisCpu().Apply(new QConfig(
                new QuantSpec { Bits = 8, Signed = false, Scheme = QuantScheme.Affine, Observer = ObserverKind.MinMax },
                new QuantSpec { Bits = 8, Signed = true, Scheme = QuantScheme.Symmetric, Observer = ObserverKind.MinMax }))));
            sim.Calibrate(calibration);
            return sim;
        }
        var none = Calibrated();
        var sequential = Calibrated();
        var fast = Calibrated();
        var sequentialReport = BiasCorrection.EmpiricalSequential(sequential, calibration);
        var fastReport = BiasCorrection.Empirical(fast, calibration);
        Assert.Equal(sequentialReport.Corrected.Select(c => c.Layer), fastReport.Corrected.Select(c => c.Layer));

        var before = Biases(none);
        var sequentialShifts = Shifts(before, Biases(sequential));
        var fastShifts = Shifts(before, Biases(fast));
        // The stem reads the image, so both forms measure the same input for it: equal but for float rounding.
        Assert.True(RelativeDistance(sequentialShifts["stem.conv1"], fastShifts["stem.conv1"]) < RoundingBound);
        var layers = sequentialShifts.Keys.ToList();
        var deviation = RelativeDistance(layers.SelectMany(l => sequentialShifts[l]).ToArray(), layers.SelectMany(l => fastShifts[l]).ToArray());
        Assert.True(deviation < ShiftDeviationBound, $"fast shifts {deviation:P3} from the sequential ones");

        // Not worse: better than no correction, and as good as the sequential correction within the rounding spread,
        // on the calibration photos (whose mean shifts were removed) and on photos the correction never saw.
        using var floatRun = new GraphExecutor(graph);
        foreach (var (set, batches) in new[] { ("calibration", calibration), ("evaluation", evaluation) })
        {
            var references = batches.Select(floatRun.Run).ToList();
            double Sqnr(QuantSim sim)
            {
                using var run = sim.CreateExecutor();
                return BiasCorrectionTests.Sqnr(Stack(references), Stack(batches.Select(run.Run).ToList()));
            }
            var (sqnrNone, sqnrSequential, sqnrFast) = (Sqnr(none), Sqnr(sequential), Sqnr(fast));
            var figures = $"{set} SQNR: {sqnrNone:F3} dB uncorrected, {sqnrSequential:F3} dB sequential, {sqnrFast:F3} dB fast";
            Assert.True(sqnrFast > sqnrNone, figures);
            Assert.True(sqnrFast >= sqnrSequential - SqnrSlackDb, figures);
        }
    }

    /// <summary>Batches as one tensor, so one SQNR covers every sample.</summary>
    private static Tensor Stack(IReadOnlyList<Tensor> batches)
    {
        var data = batches.SelectMany(b => b.ToArray<float>()).ToArray();
        var shape = batches[0].Shape.ToArray();
        shape[0] = batches.Sum(b => b.Shape[0]);
        return Tensor.FromFloats(data, shape);
    }

    [Property(Arbitrary = new[] { typeof(ConvNetArbitraries) }, MaxTest = 12)]
    public void WithAPassPerLayerOverEveryBatchTheFastCorrectionIsTheSequentialOne(ConvNetSpec spec, int seed)
    {
        // Pass p measures every input with the corrections of pass p − 1, so after as many full passes as there are
        // layers each layer has seen its upstream layers' final corrections: the sequential result, computed differently.
        var graph = RandomConvNets.Build(spec, seed).FoldBatchNorm();
        var batches = new[] { RandomConvNets.Input(spec, seed), RandomConvNets.Input(spec, seed + 1) };
        var before = Biases(WeightOnly(graph, 4));
        var sequential = WeightOnly(graph, 4);
        var fast = WeightOnly(graph, 4);
        var report = BiasCorrection.EmpiricalSequential(sequential, batches);
        BiasCorrection.Empirical(fast, batches, passes: Math.Max(1, report.Corrected.Count), earlyPassStride: 1);
        var expected = Shifts(before, Biases(sequential));
        foreach (var (layer, shift) in Shifts(before, Biases(fast)))
        {
            var distance = RelativeDistance(expected[layer], shift);
            Assert.True(distance < RoundingBound, $"{layer}: shifts {distance:G3} apart in {spec}");
        }
    }

    [Fact]
    public void EmpiricalCorrectionNeedsAPass()
    {
        var sim = WeightOnly(TestModels.ResNet18().FoldBatchNorm(), 8);
        var batch = TestModels.ResNet18Input(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => BiasCorrection.Empirical(sim, [batch], passes: 0));
    }

    /// <summary>Every linear layer's bias by module name (zeros where there is none).</summary>
    private static Dictionary<string, float[]> Biases(QuantSim sim) =>
        sim.Graph.Nodes.Where(n => LinearLayer.IsLinearOp(n) && n.OpType != "MatMul" && LinearLayer.WeightValue(n) is not null)
            .ToDictionary(n => n.ModuleName, n => LinearLayer.Create(n).BiasOrZeros());

    private static Dictionary<string, double[]> Shifts(Dictionary<string, float[]> before, Dictionary<string, float[]> after) =>
        before.ToDictionary(kv => kv.Key, kv => kv.Value.Zip(after[kv.Key], (b, a) => (double)b - a).ToArray());

    /// <summary>‖b − a‖ / ‖a‖ (0 when both are zero).</summary>
    private static double RelativeDistance(double[] a, double[] b)
    {
        double noise = 0, signal = 0;
        for (var i = 0; i < a.Length; i++)
        {
            noise += (b[i] - a[i]) * (b[i] - a[i]);
            signal += a[i] * a[i];
        }
        return noise == 0 ? 0 : Math.Sqrt(noise / signal);
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
