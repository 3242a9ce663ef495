using SharpQuant.Analysis;
using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Analysis;

public class QuantGridHistogramTests
{
    // A 2-bit unsigned grid 0..3: range 3, extended by ⌈1.5⌉ = 2 steps each side: centroids −2 … 5, 8 steps, 40 bins,
    // first left edge −2.5. Bin b covers [−2.5 + b/5, −2.5 + (b+1)/5); centroid q is the middle of bin (q + 2)·5 + 2.
    private static QuantGridHistogram TwoBit() => new(0, 3);

    [Fact]
    public void TheGridIsCentredOnTheCentroidsAndExtendsHalfTheRange()
    {
        var h = TwoBit();
        Assert.Equal(2, h.ExtensionSteps);
        Assert.Equal(-2, h.FirstCentroid);
        Assert.Equal(8, h.Steps);
        Assert.Equal(40, h.BinCount);
        Assert.Equal(-2.5, h.Start);
        for (var q = -2; q <= 5; q++)
        {
            Assert.Equal(q, h.BinCentre(h.CentroidBin(q)), 12);
            Assert.Equal(0, QuantGridHistogram.SubBinOffset(h.CentroidBin(q)));
        }
        Assert.Equal(-0.2, h.BinCentre(h.CentroidBin(0) - 1), 12);

        // int8: ⌈255/2⌉ = 128 steps each side, 512 steps, 2560 bins; −128 sits in bin 642.
        var int8 = new QuantGridHistogram(-128, 127);
        Assert.Equal(2560, int8.BinCount);
        Assert.Equal(-256.5, int8.Start);
        Assert.Equal(642, int8.CentroidBin(-128));
        Assert.Equal(-128, int8.BinCentre(642), 12);
    }

    [Fact]
    public void CountsClampedZeroBinIntraBinAndRangeByHand()
    {
        var h = TwoBit();
        // t = x (s = 1, z = 0). 0 → bin 12 (twice), 1 → 17, 3 → 27, 0.2 → 13 (offset +1), −0.5 → 10 (left edge of
        // step 0: offset −2), 3.5 → 30 (step 4: clamped), −1 → 7 (centroid −1: clamped), ±100 beyond the bins.
        h.Add([0, 0, 1, 3, 0.2f, -0.5f, 3.5f, -1, 100, -100], 1, 0);
        Assert.Equal(10, h.Total);
        var expected = new long[40];
        expected[12] = 2;
        expected[17] = expected[27] = expected[13] = expected[10] = expected[30] = expected[7] = 1;
        Assert.Equal(expected, h.Counts.ToArray());
        Assert.Equal((1L, 1L), (h.Underflow, h.Overflow));
        Assert.Equal(0.4, h.ClampedMass, 12);
        Assert.Equal(0.2, h.ZeroBinMass, 12);
        Assert.Equal((-100f, 100f), (h.Min, h.Max));
        Assert.Equal((-100.0, 100.0), (h.MinUnits, h.MaxUnits));
        var p = h.Probabilities();
        Assert.Equal(0.2, p[12], 12);
        Assert.Equal(0.8, p.Sum(), 12);
        // Offsets −2, −1, 0, +1, +2: bins 10 and 30 at −2; 7, 12 (×2), 17, 27 on the centroid; 13 at +1.
        var intra = h.IntraBin();
        Assert.Equal([0.2, 0, 0.5, 0.1, 0], intra.Select(v => Math.Round(v, 12)).ToArray());
        Assert.Equal(0.5, intra[QuantGridHistogram.CentroidSubBin], 12);
    }

    [Fact]
    public void ScaleAndZeroPointMoveValuesOntoTheGrid()
    {
        // s = 0.5, z = 1: x = 0 → t = 1 (the zero bin is centred on z), x = 1 → t = 3, x = 1.6 → t = 4.2 (clamped), x = −0.6 → t = −0.2.
        var h = new QuantGridHistogram(0, 3, QuantGridAxis.Value, 0.5f, 1);
        h.Add([0, 1, 1.6f, -0.6f], 0.5f, 1);
        Assert.Equal(1, h.Counts[h.CentroidBin(1)]);
        Assert.Equal(1, h.Counts[h.CentroidBin(3)]);
        Assert.Equal(1, h.Counts[h.CentroidBin(4) + 1]);
        Assert.Equal(1, h.Counts[h.CentroidBin(0) - 1]);
        Assert.Equal(0.25, h.ZeroBinMass, 12);
        Assert.Equal(0.25, h.ClampedMass, 12);
        // The value axis: centroid q is the value (q − z)·s.
        Assert.Equal(-0.5, h.ToAxis(h.BinCentre(h.CentroidBin(0))), 12);
        Assert.Equal(1.0, h.ToAxis(h.BinCentre(h.CentroidBin(3))), 12);
    }

    [Fact]
    public void PerChannelWeightsShareTheIntegerScale()
    {
        // Two channels with different scales and zero points land on the same integers: channel 0 (s 0.5, z 1): 0 → 1,
        // 0.5 → 2; channel 1 (s 2, z 0): 0 → 0, 2 → 1. Each channel's own zero is in its own zero bin.
        var weight = Tensor.FromFloats([0, 0.5f, 0, 2], 2, 2);
        var qparams = new QParams([0.5f, 2f], [1, 0], 0, 0, 3);
        var h = QuantGridHistogram.ForWeights(qparams);
        h.Add(weight, qparams);
        Assert.Equal(1, h.Counts[h.CentroidBin(0)]);
        Assert.Equal(2, h.Counts[h.CentroidBin(1)]);
        Assert.Equal(1, h.Counts[h.CentroidBin(2)]);
        Assert.Equal(0.5, h.ZeroBinMass, 12);
        Assert.Equal((0f, 2f), (h.Min, h.Max));
        Assert.Equal((0.0, 2.0), (h.MinUnits, h.MaxUnits));
        Assert.Equal(QuantGridAxis.Integer, h.Axis);
        Assert.Equal(7.0, h.ToAxis(7.0));

        // Along axis 1 (a MatMul weight [in 2, out 2]): column c has channel c's scale.
        var columns = Tensor.FromFloats([0.5f, 2, 1, 4], 2, 2);
        var perColumn = new QParams([0.5f, 2f], [0, 0], 1, 0, 3);
        var m = QuantGridHistogram.ForWeights(perColumn);
        m.Add(columns, perColumn);
        Assert.Equal(2, m.Counts[m.CentroidBin(1)]);
        Assert.Equal(2, m.Counts[m.CentroidBin(2)]);
    }

    [Fact]
    public void ChannelsOnTheLastAxisMatchBinningOneValueAtATime()
    {
        // The row path (per-element scales) against one Add per value with its channel's scale and zero point.
        var random = new Random(3);
        const int Rows = 7, Channels = 5;
        var values = Enumerable.Range(0, Rows * Channels).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        var grads = Enumerable.Range(0, Rows * Channels).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        values[3] = 0;
        var qparams = new QParams([0.01f, 0.02f, 0.5f, 0.03f, 0.004f], [0, 3, -2, 0, 1], 1, -128, 127);
        var rows = QuantGridHistogram.ForWeights(qparams);
        rows.Add(Tensor.FromFloats(values, Rows, Channels), qparams, Tensor.FromFloats(grads, Rows, Channels));
        var single = QuantGridHistogram.ForWeights(qparams);
        for (var i = 0; i < values.Length; i++)
        {
            var c = i % Channels;
            single.Add(values.AsSpan(i, 1), qparams.Scale[c], qparams.ZeroPoint[c], grads.AsSpan(i, 1));
        }
        Assert.Equal(single.Counts.ToArray(), rows.Counts.ToArray());
        Assert.Equal(single.GradientSums.ToArray(), rows.GradientSums.ToArray());
        Assert.Equal((single.Underflow, single.Overflow, single.Total), (rows.Underflow, rows.Overflow, rows.Total));
        Assert.Equal(single.ZeroBinMass, rows.ZeroBinMass);
        Assert.True(rows.ZeroBinMass > 0);
        Assert.Equal((single.MinUnits, single.MaxUnits), (rows.MinUnits, rows.MaxUnits));
        Assert.Equal(single.ClampedMass, rows.ClampedMass);
        Assert.True(rows.ClampedMass > 0);
    }

    [Fact]
    public void GradientsAreSummedSignedIntoTheSameBins()
    {
        var h = TwoBit();
        h.Add([0, 0, 1, 0.2f, 100], 1, 0, [1, -3, 2, 0.5f, -1.5f]);
        Assert.True(h.HasGradients);
        Assert.Equal(-2, h.GradientSums[h.CentroidBin(0)], 12);
        Assert.Equal(2, h.GradientSums[h.CentroidBin(1)], 12);
        Assert.Equal(0.5, h.GradientSums[h.CentroidBin(0) + 1], 12);
        Assert.Equal(-1.5, h.GradientOutside, 12);
        // Magnitudes of the signed sums over their total 2 + 2 + 0.5 + 1.5 = 6.
        var mass = h.GradientMass();
        Assert.Equal(2.0 / 6, mass[h.CentroidBin(0)], 12);
        Assert.Equal(2.0 / 6, mass[h.CentroidBin(1)], 12);
        Assert.Equal(0.5 / 6, mass[h.CentroidBin(0) + 1], 12);
        Assert.Equal(4.5 / 6, mass.Sum(), 12);
        var intra = h.GradientIntraBin();
        Assert.Equal(4.0 / 6, intra[QuantGridHistogram.CentroidSubBin], 12);
        Assert.Equal(0.5 / 6, intra[QuantGridHistogram.CentroidSubBin + 1], 12);
        Assert.Throws<SharpQuantException>(() => h.Add([1, 2], 1, 0, [1]));
    }

    [Fact]
    public void WithoutGradientsTheGradientMassIsZero()
    {
        var h = TwoBit();
        h.Add([0, 1], 1, 0);
        Assert.False(h.HasGradients);
        Assert.All(h.GradientMass(), v => Assert.Equal(0, v));
    }

    [Fact]
    public void TheMovingAverageIsCentredAndAveragesOverTheBinsThatExistAtTheEnds()
    {
        Assert.Equal([1.5, 2, 3, 4, 4.5], QuantGridHistogram.Smooth([1, 2, 3, 4, 5], 3));
        Assert.Equal(45, QuantGridHistogram.SmoothingBins);
        Assert.All(QuantGridHistogram.Smooth(Enumerable.Repeat(1.0, 40).ToArray()), v => Assert.Equal(1, v, 12));
        var delta = new double[100];
        delta[0] = 1;
        var smoothed = QuantGridHistogram.Smooth(delta);
        Assert.Equal(1.0 / 23, smoothed[0], 12);   // window [0, 22]: 23 bins exist
        Assert.Equal(1.0 / 45, smoothed[22], 12);  // window [0, 44]: full
        Assert.Equal(0, smoothed[23], 12);
        var delta50 = new double[100];
        delta50[50] = 1;
        var s50 = QuantGridHistogram.Smooth(delta50);
        Assert.Equal(45, s50.Count(v => v > 0));
        Assert.Equal(1.0 / 45, s50[28], 12);
        Assert.Equal(1.0 / 45, s50[72], 12);
        Assert.Equal(0, s50[27], 12);
        Assert.Throws<SharpQuantException>(() => QuantGridHistogram.Smooth([1, 2], 4));
    }

    [Fact]
    public void StreamingInPiecesEqualsOneAddAndAScalarReference()
    {
        var random = new Random(7);
        var values = Enumerable.Range(0, 50_000).Select(_ => (float)(random.NextDouble() * 600 - 300) * 0.01f).ToArray();
        var grads = Enumerable.Range(0, 50_000).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        const float Scale = 0.0123f;
        const int Zero = 3;
        var whole = new QuantGridHistogram(-128, 127);
        whole.Add(values, Scale, Zero, grads);
        var pieces = new QuantGridHistogram(-128, 127);
        for (var i = 0; i < values.Length; i += 7_001)
        {
            var n = Math.Min(7_001, values.Length - i);
            pieces.Add(values.AsSpan(i, n), Scale, Zero, grads.AsSpan(i, n));
        }
        Assert.Equal(whole.Counts.ToArray(), pieces.Counts.ToArray());
        Assert.Equal(whole.ZeroBinMass, pieces.ZeroBinMass);
        for (var b = 0; b < whole.BinCount; b++)
        {
            Assert.Equal(whole.GradientSums[b], pieces.GradientSums[b], 9);
        }
        // The scalar reference: ⌊(x/s·5) + (z − start)·5⌋ in float32, as the vector loop computes it.
        var reference = new long[whole.BinCount];
        var offset = (float)((Zero - whole.Start) * 5);
        long outside = 0;
        foreach (var x in values)
        {
            var position = MathF.Floor(x / Scale * 5f + offset);
            if (position < 0 || position >= reference.Length)
            {
                outside++;
                continue;
            }
            reference[(int)position]++;
        }
        Assert.Equal(reference, whole.Counts.ToArray());
        Assert.Equal(outside, whole.Underflow + whole.Overflow);
    }

    [Fact]
    public void BadInputIsRejected()
    {
        Assert.Throws<SharpQuantException>(() => new QuantGridHistogram(3, 3));
        Assert.Throws<SharpQuantException>(() => TwoBit().Add([float.NaN], 1, 0));
        Assert.Throws<SharpQuantException>(() => TwoBit().Add([1], 0, 0));
        Assert.Throws<SharpQuantException>(() => QuantGridHistogram.ForActivations(new QParams([1f, 2f], [0, 0], 0, 0, 255)));
        var empty = TwoBit();
        Assert.Equal(0, empty.ClampedMass);
        Assert.True(float.IsNaN(empty.Min));
    }

    [Fact]
    public void ResNet18WeightHistogramsHoldEveryWeightAndClampAlmostNothing()
    {
        var sim = QuantSim.Prepare(TestModels.ResNet18().FoldBatchNorm(), QConfigMapping.Default());
        var histograms = WeightHistograms.Of(sim);
        Assert.Equal(sim.Quantizers.Count(q => q.Kind == QuantizerKind.Weight), histograms.Count);
        foreach (var (quantizer, h) in histograms)
        {
            var weight = quantizer.Input.ConstantValue!;
            Assert.Equal(weight.ElementCount, h.Total);
            Assert.Equal(weight.ElementCount, h.Counts.ToArray().Sum());
            // Symmetric min-max: each channel's largest magnitude maps to ±127.5, a rounding edge; nothing else is clamped.
            Assert.True(h.ClampedMass * h.Total <= quantizer.QParams.Count, $"{quantizer.Name}: clamped {h.ClampedMass}");
            Assert.Equal(weight.Floats.ToArray().Min(), h.Min);
            Assert.Equal(weight.Floats.ToArray().Max(), h.Max);
        }
    }

    [SkippableFact]
    public void ActivationHistogramsStreamTheTappedValuesOfACalibratedSimulation()
    {
        var batch = RealImages.ResNet18Batch();
        var sim = QuantSim.Prepare(TestModels.ResNet18().FoldBatchNorm(),
            new QConfigMapping().SetGlobal(QConfig.Default with { Activation = QuantSpec.FakeQuantAct with { Observer = ObserverKind.MinMax } }));
        Assert.Throws<SharpQuantException>(() => ActivationHistograms.Collect(sim, [batch]));
        sim.Calibrate([batch]);
        var histograms = ActivationHistograms.Collect(sim, [batch, batch]);
        Assert.Equal(sim.Quantizers.Count(q => q.Kind == QuantizerKind.Activation), histograms.Count);
        var input = histograms.Single(h => h.Quantizer.Input.IsGraphInput);
        // The model input is not changed by any quantizer: its histogram is exactly the batch added twice.
        var direct = QuantGridHistogram.ForActivations(input.Quantizer.QParams);
        direct.Add(batch, input.Quantizer.QParams);
        direct.Add(batch, input.Quantizer.QParams);
        Assert.Equal(direct.Counts.ToArray(), input.Histogram.Counts.ToArray());
        Assert.Equal(0, input.Histogram.ClampedMass);
        Assert.Equal(QuantGridAxis.Value, input.Histogram.Axis);
        var once = ActivationHistograms.Collect(sim, [batch]);
        for (var i = 0; i < histograms.Count; i++)
        {
            var (quantizer, h) = histograms[i];
            // Streaming: two runs of the same batch are twice one run, bin for bin.
            Assert.Equal(once[i].Histogram.Counts.ToArray().Select(c => 2 * c), h.Counts.ToArray());
            Assert.Equal(2 * once[i].Histogram.Total, h.Total);
            // Min-max ranges from this very batch: only values that upstream quantization pushed past the range are clamped.
            Assert.True(h.ClampedMass < 1e-3, $"{quantizer.Name}: clamped {h.ClampedMass}");
        }
    }
}
