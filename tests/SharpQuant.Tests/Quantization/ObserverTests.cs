using System.Diagnostics;
using SharpQuant.Quantization;
using SharpQuant.Quantization.Observers;
using Xunit.Abstractions;

namespace SharpQuant.Tests.Quantization;

public class ObserverTests(ITestOutputHelper output)
{
    private static readonly QuantSpec Int8Symmetric = new() { Bits = 8, Signed = true, Scheme = QuantScheme.Symmetric };
    private static readonly QuantSpec UInt8Affine = new() { Bits = 8, Signed = false, Scheme = QuantScheme.Affine };

    public static TheoryData<ObserverKind> HistogramKinds => [ObserverKind.Percentile, ObserverKind.Mse, ObserverKind.Entropy];

    // ---- StreamingHistogram ----

    [Fact]
    public void HistogramKeepsEveryCountAndTheMassBelowEveryEdgeWhileItsRangeGrows()
    {
        var histogram = new StreamingHistogram(256);
        var random = new Random(7);
        var seen = new List<float>();
        (float Lo, float Hi)[] batches = [(0.1f, 1f), (-3f, 2f), (-0.5f, 40f), (-100f, 7f), (-2f, 2f), (-1000f, 1000f)];
        var widths = new List<double>();
        foreach (var (lo, hi) in batches)
        {
            var batch = Uniform(random, 1000, lo, hi);
            histogram.Add(batch);
            seen.AddRange(batch);
            widths.Add(histogram.BinWidth);

            Assert.Equal(256, histogram.BinCount);
            Assert.Equal(seen.Count, histogram.Total);
            Assert.Equal(seen.Count, Sum(histogram.Counts));
            Assert.True(histogram.Lo <= seen.Min() && histogram.Hi >= seen.Max());
            // Every edge of the current bins was an edge of the earlier ones, so the count below each edge is the
            // number of values below it, however many times the bins were merged. The float binning places a value
            // to about 1e-4 of a bin, so values closer than 1e-3 bin to an edge may fall on either side.
            long below = 0;
            for (var i = 0; i <= histogram.BinCount; i++)
            {
                var edge = histogram.Edge(i);
                var margin = 1e-3 * histogram.BinWidth;
                var exact = seen.Count(v => v < edge);
                var ambiguous = seen.Count(v => Math.Abs(v - edge) <= margin);
                Assert.InRange(below, exact - ambiguous, exact + ambiguous);
                if (i < histogram.BinCount)
                {
                    below += histogram.Counts[i];
                }
            }
            Assert.Equal(seen.Count(v => v < 0), Sum(histogram.Counts[..histogram.ZeroBin]));
        }
        // The width only ever grows by whole factors.
        for (var b = 1; b < widths.Count; b++)
        {
            var factor = widths[b] / widths[b - 1];
            Assert.Equal(Math.Round(factor), factor, 9);
            Assert.True(factor >= 1);
        }
        Assert.True(widths[^1] > widths[0]);
    }

    [Fact]
    public void VectorBinIndicesEqualTheScalarFormulaForEveryValue()
    {
        var random = new Random(11);
        const float inverseWidth = 1 / 0.037f;
        const int zero = 700, last = 2047;
        // Random values, exact multiples of the width (floor must not round them down), ±0, and values past both
        // ends (clamped); an odd length exercises the scalar tail.
        var values = Uniform(random, 5001, -30f, 50f).Concat(Enumerable.Range(-40, 80).Select(k => k / inverseWidth))
            .Concat([0f, -0f, -1e6f, 1e6f, 1e-30f, -1e-30f]).ToArray();
        var indices = new int[values.Length];
        HistogramKernels.BinIndices(values, inverseWidth, zero, last, indices);
        for (var i = 0; i < values.Length; i++)
        {
            Assert.Equal(Math.Clamp((int)MathF.Floor(values[i] * inverseWidth) + zero, 0, last), indices[i]);
        }
    }

    [Fact]
    public void LargeBatchesCountExactlyAsOneValueAtATime()
    {
        // 100 000 values (past the size where the interleaved counters take over), half of them exact zeros as after
        // a ReLU: every bin must hold what adding the values one by one puts there.
        var random = new Random(5);
        var values = Uniform(random, 100_000, -4f, 9f).Select((v, i) => i % 2 == 0 ? 0f : v).ToArray();
        var batch = new StreamingHistogram(2048);
        batch.Add(values);
        var single = new StreamingHistogram(2048);
        single.Add([values.Min(), values.Max()]);
        foreach (var v in values)
        {
            single.Add([v]);
        }
        Assert.Equal(batch.BinWidth, single.BinWidth);
        var expected = single.Counts.ToArray();
        // `single` saw the two range-fixing values once more.
        expected[Math.Clamp((int)MathF.Floor(values.Min() * (float)(1 / single.BinWidth)) + single.ZeroBin, 0, 2047)]--;
        expected[Math.Clamp((int)MathF.Floor(values.Max() * (float)(1 / single.BinWidth)) + single.ZeroBin, 0, 2047)]--;
        Assert.Equal(expected, batch.Counts.ToArray());
        Assert.Equal(values.Length, Sum(batch.Counts));
    }

    [Fact]
    public void ZerosSeenBeforeAnyOtherValueLandInTheZeroBin()
    {
        var histogram = new StreamingHistogram(64);
        histogram.Add(new float[100]);
        Assert.False(histogram.HasRange);
        Assert.Equal(100, histogram.Total);
        histogram.Add([-1f, 3f]);
        Assert.True(histogram.HasRange);
        Assert.Equal(102, histogram.Total);
        Assert.Equal(100, histogram.Counts[histogram.ZeroBin]);
        Assert.Equal(0.0, histogram.Edge(histogram.ZeroBin));
        Assert.Equal(1, Sum(histogram.Counts[..histogram.ZeroBin]));
    }

    [Fact]
    public void HistogramMagnitudeCountsFoldTheTwoSidesOfZero()
    {
        var histogram = new StreamingHistogram(64);
        var random = new Random(3);
        var values = Uniform(random, 5000, -2f, 5f);
        histogram.Add(values);
        var magnitudes = histogram.MagnitudeCounts();
        Assert.Equal(values.Length, Sum(magnitudes));
        for (var j = 0; j < magnitudes.Length; j++)
        {
            double lo = j * histogram.BinWidth, hi = (j + 1) * histogram.BinWidth;
            // Bin j of |x| is signed bin [j·w, (j + 1)·w) plus signed bin [−(j + 1)·w, −j·w).
            Assert.Equal(values.Count(v => v >= 0 ? v >= lo && v < hi : v >= -hi && v < -lo), magnitudes[j]);
        }
    }

    [Fact]
    public void HistogramMemoryStaysFixedOverTwoHundredGrowingBatches()
    {
        var spec = Int8Symmetric with { Observer = ObserverKind.Entropy, HistogramBins = 512 };
        var observer = (HistogramObserver)ObserverFactory.Create(spec);
        var random = new Random(11);
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        for (var b = 0; b < 200; b++)
        {
            // The spread grows 5 % a batch (17 000-fold over the run), alternately pushing each side.
            var spread = (float)Math.Pow(1.05, b);
            var batch = Gaussian(random, 500, spread);
            batch[0] = (b % 2 == 0 ? 4 : -4) * spread;
            observer.Observe(Tensor.FromFloats(batch, batch.Length));
            min = Math.Min(min, batch.Min());
            max = Math.Max(max, batch.Max());
        }
        var histogram = Assert.Single(observer.Histograms);
        Assert.Equal(spec.HistogramBins, histogram.BinCount);
        Assert.Equal(spec.HistogramBins, histogram.Counts.Length);
        Assert.Equal(200 * 500, histogram.Total);
        Assert.Equal(200 * 500, Sum(histogram.Counts));
        Assert.Equal(min, histogram.Min);
        Assert.Equal(max, histogram.Max);
        Assert.True(histogram.Lo <= min && histogram.Hi >= max);
        // The lattice grows by whole factors (at least 2), so the range is never more than about 4 times the data's.
        Assert.True(histogram.Hi - histogram.Lo < 4.5 * (max - min), $"range [{histogram.Lo}, {histogram.Hi}] for data [{min}, {max}]");
        var (lo, hi) = Assert.Single(observer.Ranges());
        Assert.True(double.IsFinite(lo) && double.IsFinite(hi) && hi > 0);
    }

    [Fact]
    public void HistogramRejectsTooFewBins()
    {
        var error = Assert.Throws<SharpQuantException>(() => new StreamingHistogram(4));
        Assert.Contains("bins", error.Message);
    }

    // ---- Percentile ----

    [Fact]
    public void PercentileOfUniformIntegersIsWithinABinOfTheExactOne()
    {
        var values = Enumerable.Range(0, 10000).Select(v => (float)v).ToArray();
        new Random(5).Shuffle(values);

        var symmetric = Observe(Int8Symmetric with { Observer = ObserverKind.Percentile, Percentile = 99.9 }, values, batches: 10);
        var width = Assert.Single(((HistogramObserver)symmetric).Histograms).BinWidth;
        var (lo, hi) = Assert.Single(symmetric.Ranges());
        Assert.Equal(0, lo);
        // 99.9 % of 0…9999 lie below 9990.
        Assert.InRange(hi, 9990 - width, 9990 + width);

        var affine = Observe(UInt8Affine with { Observer = ObserverKind.Percentile, Percentile = 99 }, values, batches: 10);
        (lo, hi) = Assert.Single(affine.Ranges());
        Assert.InRange(lo, 100 - width, 100 + width);
        Assert.InRange(hi, 9900 - width, 9900 + width);
    }

    [Fact]
    public void PercentileOfALaplaceSampleMatchesTheSampleAndTheDistribution()
    {
        // |x| of Laplace(0, b) is exponential: its p-quantile is −b·ln(1 − p).
        const double b = 0.5, p = 0.999;
        var random = new Random(2024);
        var values = new float[200_000];
        for (var i = 0; i < values.Length; i++)
        {
            var u = random.NextDouble() - 0.5;
            values[i] = (float)(-b * Math.Sign(u) * Math.Log(1 - 2 * Math.Abs(u)));
        }
        var observer = Observe(Int8Symmetric with { Observer = ObserverKind.Percentile, Percentile = p * 100 }, values, batches: 20);
        var width = Assert.Single(((HistogramObserver)observer).Histograms).BinWidth;
        var (lo, hi) = Assert.Single(observer.Ranges());
        var threshold = Math.Max(-lo, hi);

        var sorted = values.Select(v => Math.Abs(v)).Order().ToArray();
        var empirical = sorted[(int)(p * sorted.Length)];
        Assert.InRange(threshold, empirical - width, empirical + width);
        var analytic = -b * Math.Log(1 - p);
        Assert.InRange(threshold, analytic * 0.95, analytic * 1.05);
    }

    [Theory]
    [InlineData(QuantScheme.Symmetric)]
    [InlineData(QuantScheme.Affine)]
    [InlineData(QuantScheme.StrictSymmetric)]
    public void PercentileOneHundredIsMinMax(QuantScheme scheme)
    {
        var spec = new QuantSpec { Scheme = scheme, Observer = ObserverKind.Percentile, Percentile = 100 };
        var random = new Random(9);
        var percentile = ObserverFactory.Create(spec);
        var minMax = ObserverFactory.Create(spec with { Observer = ObserverKind.MinMax });
        for (var b = 0; b < 5; b++)
        {
            var batch = Gaussian(random, 3000, 1 + b);
            for (var i = 0; i < batch.Length; i++)
            {
                batch[i] += 0.7f;
            }
            percentile.Observe(Tensor.FromFloats(batch, batch.Length));
            minMax.Observe(Tensor.FromFloats(batch, batch.Length));
        }
        Assert.Equal(minMax.Ranges(), percentile.Ranges());
    }

    [Fact]
    public void PerChannelPercentileOneHundredIsPerChannelMinMax()
    {
        var spec = Int8Symmetric with { Axis = 0, Observer = ObserverKind.Percentile, Percentile = 100 };
        var random = new Random(4);
        var weights = new float[4 * 50];
        for (var c = 0; c < 4; c++)
        {
            var channel = Gaussian(random, 50, 0.1f * (c + 1));
            channel.CopyTo(weights, c * 50);
        }
        var tensor = Tensor.FromFloats(weights, 4, 5, 10);
        var percentile = ObserverFactory.Create(spec);
        var minMax = ObserverFactory.Create(spec with { Observer = ObserverKind.MinMax });
        percentile.Observe(tensor);
        minMax.Observe(tensor);
        Assert.Equal(4, ((HistogramObserver)percentile).Histograms.Count);
        Assert.Equal(minMax.Ranges(), percentile.Ranges());
        Assert.Throws<SharpQuantException>(() => percentile.Observe(Tensor.FromFloats(new float[6], 3, 2)));
    }

    // ---- MSE ----

    [Theory]
    [InlineData(QuantScheme.Symmetric)]
    [InlineData(QuantScheme.Affine)]
    public void MseClipsRareHugeOutliersNearTheAnalyticOptimum(QuantScheme scheme)
    {
        var spec = new QuantSpec { Bits = 8, Signed = scheme != QuantScheme.Affine, Scheme = scheme, Observer = ObserverKind.Mse };
        var random = new Random(42);
        var values = Gaussian(random, 1_000_000, 1f);
        // Two outliers in a million: clipping them costs less than the coarser steps they would force.
        const float high = 60f, low = -55f;
        values[123] = high;
        values[456_789] = low;
        var observer = Observe(spec, values, batches: 10);
        var (lo, hi) = Assert.Single(observer.Ranges());

        // With the bulk far inside the range, the error is the outliers' clipping plus N·s²/12 of rounding.
        // Symmetric: s = T/127.5, so d/dT [(60 − T)² + (55 − T)² + N·T²/(12·127.5²)] = 0 gives T = 115 / (2 + N/195 075).
        // Affine uint8: s = (hi − lo)/255; both sides balance the same rounding term, giving
        // hi − lo = 115 / (1 + 2c), c = N/(12·255²), hi = 60 − c·(hi − lo), lo = c·(hi − lo) − 55.
        double n = values.Length;
        (double Lo, double Hi) optimum;
        if (scheme == QuantScheme.Symmetric)
        {
            var t = (high - low) / (2 + n / (12 * 127.5 * 127.5));
            optimum = (-t, t);
        }
        else
        {
            var c = n / (12.0 * 255 * 255);
            var span = (high - low) / (1 + 2 * c);
            optimum = (c * span + low, high - c * span);
        }
        var chosen = MeasuredError(values, QuantMath.FromRanges([(lo, hi)], spec));
        var best = MeasuredError(values, QuantMath.FromRanges([optimum], spec));
        var minMax = MeasuredError(values, QuantMath.FromRanges([(values.Min(), values.Max())], spec));
        output.WriteLine($"{scheme}: MSE range [{lo:F3}, {hi:F3}], analytic optimum [{optimum.Lo:F3}, {optimum.Hi:F3}]; " +
            $"measured squared error {chosen:F0} (chosen), {best:F0} (optimum), {minMax:F0} (min-max)");

        Assert.True(hi < 0.35 * high && -lo < 0.35 * -low, $"range [{lo}, {hi}] does not clip the outliers");
        if (scheme == QuantScheme.Symmetric)
        {
            Assert.InRange(Math.Max(-lo, hi), 0.95 * optimum.Hi, 1.05 * optimum.Hi);
        }
        else
        {
            Assert.InRange(lo, optimum.Lo - 1.5, optimum.Lo + 1.5);
            Assert.InRange(hi, optimum.Hi - 1.5, optimum.Hi + 1.5);
        }
        Assert.True(chosen < 1.03 * best, $"MSE range error {chosen} vs analytic optimum {best}");
        Assert.True(chosen < 0.5 * minMax, $"MSE range error {chosen} vs min-max {minMax}");
    }

    [Fact]
    public void MseKeepsTheFullRangeOfOutlierFreeUniformData()
    {
        // Uniform data has no tail worth clipping: the best range is (nearly) all of it.
        var values = Uniform(new Random(8), 100_000, -1f, 1f);
        var observer = Observe(Int8Symmetric with { Observer = ObserverKind.Mse }, values, batches: 4);
        var (lo, hi) = Assert.Single(observer.Ranges());
        Assert.InRange(Math.Max(-lo, hi), 0.97, 1.0);
    }

    // ---- Entropy ----

    [Fact]
    public void EntropyOnReluOutputsWithOutliersClipsBetweenThe99thPercentileAndTheMax()
    {
        var random = new Random(1234);
        var values = Gaussian(random, 1_000_000, 1f);
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = Math.Max(values[i], 0);
        }
        // 20 outliers in a million, 30σ to 50σ out.
        for (var i = 0; i < 20; i++)
        {
            values[random.Next(values.Length)] = 30f + 20f * random.NextSingle();
        }
        var observer = Observe(QuantSpec.FakeQuantAct, values, batches: 8);
        var (lo, hi) = Assert.Single(observer.Ranges());
        var sorted = values.Order().ToArray();
        var p99 = sorted[(int)(0.99 * sorted.Length)];
        output.WriteLine($"entropy range [{lo}, {hi}], 99th percentile {p99}, max {sorted[^1]}");
        Assert.Equal(0, lo);
        Assert.True(hi > p99, $"threshold {hi} is below the 99th percentile {p99}");
        Assert.True(hi < 0.5 * sorted[^1], $"threshold {hi} does not clip the outliers (max {sorted[^1]})");
    }

    [Fact]
    public void EntropyOnSignedDataWithOutliersClipsSymmetrically()
    {
        var random = new Random(77);
        var values = Gaussian(random, 200_000, 2f);
        values[10] = 100f;
        values[20] = -90f;
        var observer = Observe(Int8Symmetric with { Observer = ObserverKind.Entropy }, values, batches: 4);
        var (lo, hi) = Assert.Single(observer.Ranges());
        var magnitudes = values.Select(v => Math.Abs(v)).Order().ToArray();
        var p99 = magnitudes[(int)(0.99 * magnitudes.Length)];
        output.WriteLine($"entropy range [{lo}, {hi}], 99th percentile of |x| {p99}");
        Assert.Equal(-lo, hi);
        Assert.InRange(hi, p99, 50);
    }

    // ---- Degenerate and bad input, all histogram observers ----

    [Theory]
    [MemberData(nameof(HistogramKinds))]
    public void AllZeroInputGivesTheEmptyRangeAndTheSmallestScale(ObserverKind kind)
    {
        foreach (var spec in new[] { Int8Symmetric, UInt8Affine })
        {
            var observer = ObserverFactory.Create(spec with { Observer = kind });
            observer.Observe(Tensor.FromFloats(new float[1000], 10, 100));
            observer.Observe(Tensor.FromFloats(new float[10], 10));
            var range = Assert.Single(observer.Ranges());
            Assert.Equal((0.0, 0.0), range);
            var qparams = QuantMath.FromRanges(observer.Ranges(), spec);
            Assert.Equal(QuantMath.Eps, qparams.Scale[0]);
        }
    }

    [Theory]
    [MemberData(nameof(HistogramKinds))]
    public void AllEqualValuesKeepTheirValueInRange(ObserverKind kind)
    {
        var values = Enumerable.Repeat(3f, 1000).ToArray();
        var observer = Observe(Int8Symmetric with { Observer = kind }, values, batches: 2);
        var (lo, hi) = Assert.Single(observer.Ranges());
        // One-signed data keep a one-signed range; QuantMath.FromRange widens it to [0, hi].
        Assert.InRange(lo, 2.97, 3);
        Assert.InRange(hi, 2.97, 3);
    }

    [Theory]
    [MemberData(nameof(HistogramKinds))]
    public void NaNAndInfinityAreRefused(ObserverKind kind)
    {
        var observer = ObserverFactory.Create(Int8Symmetric with { Observer = kind });
        observer.Observe(Tensor.FromFloats([1f, -2f], 2));
        var nan = Assert.Throws<SharpQuantException>(() => observer.Observe(Tensor.FromFloats([1f, float.NaN, 3f], 3)));
        Assert.Contains("NaN", nan.Message);
        var infinity = Assert.Throws<SharpQuantException>(() => observer.Observe(Tensor.FromFloats([float.PositiveInfinity], 1)));
        Assert.Contains("infinite", infinity.Message);
        // The refused batches left nothing behind.
        Assert.Equal(2, Assert.Single(((HistogramObserver)observer).Histograms).Total);
    }

    // ---- Min-max observers ----

    [Fact]
    public void MovingAverageMovesOneHundredthOfTheWayToTheNewBatch()
    {
        var observer = ObserverFactory.Create(UInt8Affine with { Observer = ObserverKind.MovingAverageMinMax, AveragingConstant = 0.01 });
        observer.Observe(Tensor.FromFloats([-1f, 2f, 0.5f], 3));
        Assert.Equal((-1.0, 2.0), Assert.Single(observer.Ranges()));
        observer.Observe(Tensor.FromFloats([-3.5f, 7.25f, 1f], 3));
        var (lo, hi) = Assert.Single(observer.Ranges());
        Assert.Equal(-1.0 + 0.01 * (-3.5 - -1.0), lo);
        Assert.Equal(2.0 + 0.01 * (7.25 - 2.0), hi);
    }

    [Fact]
    public void PerChannelMinMaxReadsTheChannelsAlongTheAxis()
    {
        // Shape [2, 3, 2], axis 1: channel c holds elements [o, c, i] for o, i in {0, 1}.
        float[] values = [5, -1, 0, 2, 9, 4, /* o = 1 */ 3, 6, -7, 1, 8, 12];
        var observer = ObserverFactory.Create(Int8Symmetric with { Axis = 1 });
        observer.Observe(Tensor.FromFloats(values, 2, 3, 2));
        Assert.Equal(new[] { (-1.0, 6.0), (-7.0, 2.0), (4.0, 12.0) }, observer.Ranges());
        observer.Observe(Tensor.FromFloats([0, 0, 0, 20, -5, 0, 0, 0, 0, 0, 0, 0], 2, 3, 2));
        Assert.Equal(new[] { (-1.0, 6.0), (-7.0, 20.0), (-5.0, 12.0) }, observer.Ranges());
    }

    // ---- Speed (reported, not asserted) ----

    [Fact]
    public void ObservingOneMillionFloatsReportsItsSpeed()
    {
        const int count = 1_000_000, rounds = 5;
        var random = new Random(1);
        var gaussian = Tensor.FromFloats(Gaussian(random, count, 1f), count);
        var relu = Tensor.FromFloats(gaussian.Floats.ToArray().Select(v => Math.Max(v, 0f)).ToArray(), count);
        foreach (var (name, data) in new[] { ("gaussian", gaussian), ("relu", relu) })
        {
            foreach (var kind in new[] { ObserverKind.Percentile, ObserverKind.Mse, ObserverKind.Entropy })
            {
                var observer = ObserverFactory.Create(UInt8Affine with { Observer = kind });
                observer.Observe(data); // warm-up (JIT, first range)
                var watch = Stopwatch.StartNew();
                for (var r = 0; r < rounds; r++)
                {
                    observer.Observe(data);
                }
                var observe = watch.Elapsed.TotalMilliseconds / rounds;
                watch.Restart();
                var range = Assert.Single(observer.Ranges());
                var choose = watch.Elapsed.TotalMilliseconds;
                Assert.Equal((long)count * (rounds + 1), Assert.Single(((HistogramObserver)observer).Histograms).Total);
                output.WriteLine($"{name,-8} {kind,-10} observe 1M floats: {observe,6:F2} ms ({observe * 1e6 / count:F2} ns/value); range [{range.Lo:F3}, {range.Hi:F3}] chosen in {choose:F1} ms");
            }
        }
    }

    // ---- helpers ----

    private static IObserver Observe(QuantSpec spec, float[] values, int batches)
    {
        var observer = ObserverFactory.Create(spec);
        var size = values.Length / batches;
        for (var b = 0; b < batches; b++)
        {
            var batch = values.AsSpan(b * size, b == batches - 1 ? values.Length - b * size : size).ToArray();
            observer.Observe(Tensor.FromFloats(batch, batch.Length));
        }
        return observer;
    }

    private static double MeasuredError(float[] values, QParams p)
    {
        double total = 0;
        foreach (var v in values)
        {
            double d = v - QuantMath.FakeQuantize(v, p.Scale[0], p.ZeroPoint[0], p.QMin, p.QMax);
            total += d * d;
        }
        return total;
    }

    private static long Sum(ReadOnlySpan<long> counts)
    {
        long total = 0;
        foreach (var c in counts)
        {
            total += c;
        }
        return total;
    }

    private static float[] Uniform(Random random, int count, float lo, float hi)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = lo + (hi - lo) * random.NextSingle();
        }
        return values;
    }

    /// <summary>Normal samples by Box–Muller, reproducible from the seed.</summary>
    private static float[] Gaussian(Random random, int count, float sigma)
    {
        var values = new float[count];
        for (var i = 0; i < count; i += 2)
        {
            var u1 = 1 - random.NextDouble();
            var u2 = random.NextDouble();
            var r = sigma * Math.Sqrt(-2 * Math.Log(u1));
            values[i] = (float)(r * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < count)
            {
                values[i + 1] = (float)(r * Math.Sin(2 * Math.PI * u2));
            }
        }
        return values;
    }
}
