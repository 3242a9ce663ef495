using System.Numerics.Tensors;
using SharpQuant.Quantization;
using SharpQuant.Quantization.Observers;

namespace SharpQuant.Tests.Quantization;

/// <summary>
/// The single-pass observers against the straightforward formulas they replace: the histogram's fused count
/// (extremes found while counting under the current range, recounted after a growth) against
/// <see cref="StreamingHistogram.AddReference"/> (TensorPrimitives extremes, growth first, then the scalar bin
/// formula per value), with the AVX-512 and AVX2 zero-bin packing and the portable loop alike (where the machine has them); and the one-pass extremes
/// against TensorPrimitives.Min and Max. Everything here is exact: equal counts, equal bits.
/// </summary>
public class FusedObserverTests
{
    public static TheoryData<int, string> Paths => new()
    {
        { 64, nameof(CountingLoop.Avx512) },
        { 64, nameof(CountingLoop.Avx2) },
        { 64, nameof(CountingLoop.Portable) },
        { 2048, nameof(CountingLoop.Avx512) },
        { 2048, nameof(CountingLoop.Avx2) },
        { 2048, nameof(CountingLoop.Portable) },
    };

    [Theory]
    [MemberData(nameof(Paths))]
    public void FusedAddEqualsTheReferenceBatchByBatch(int bins, string loopName)
    {
        var random = new Random(bins + loopName.Length);
        var fused = new StreamingHistogram(bins, Enum.Parse<CountingLoop>(loopName));
        var reference = new StreamingHistogram(bins, Enum.Parse<CountingLoop>(loopName));
        // Large batches (at least 4 × bins values) take the single pass once the range is fixed; short ones the
        // two-pass path. Odd lengths exercise the scalar tails.
        var large = (4 * bins) + 13;
        float[][] batches =
        [
            new float[large],                                   // only zeros: no range yet, the zeros wait
            [-0f, 0f, -0f],                                     // signed zeros, still no range
            Relu(Gaussian(random, large, 1f)),                  // fixes the range; about half exact zeros
            Relu(Gaussian(random, large * 3, 0.5f)),            // inside the range: one pass, no recount
            new float[large],                                   // zeros with a range: the zero bin
            Gaussian(random, large, 3f),                        // negatives and a wider spread: grows, recounts
            Relu(Gaussian(random, large + 1, 0.01f)),           // tiny values, all near the zero bin
            Denormals(random, large),                           // denormals and ±0: the bins around zero
            Uniform(random, 7, -1f, 1f),                        // a short batch
            Uniform(random, large, -1e4f, 1e4f),                // far outside: a large growth factor
            Gaussian(random, large, 1f),                        // back inside
            [],                                                 // replaced below: on the current edges and a hair past
        ];
        for (var b = 0; b < batches.Length; b++)
        {
            // The edge batch depends on the range reached so far.
            var batch = b == batches.Length - 1 ? EdgeValues(reference, large) : batches[b];
            fused.Add(batch);
            reference.AddReference(batch);
            AssertSame(reference, fused, $"batch {b}");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void FusedAddEqualsTheReferenceOnManyRandomBatches(int bins, string loopName)
    {
        var random = new Random(100 + bins);
        var fused = new StreamingHistogram(bins, Enum.Parse<CountingLoop>(loopName));
        var reference = new StreamingHistogram(bins, Enum.Parse<CountingLoop>(loopName));
        for (var b = 0; b < 40; b++)
        {
            var length = random.Next(1, 10 * bins);
            var scale = MathF.Pow(10, random.Next(-3, 4));
            var batch = random.Next(3) switch
            {
                0 => Relu(Gaussian(random, length, scale)),
                1 => Gaussian(random, length, scale),
                _ => Uniform(random, length, -scale, scale * random.NextSingle()),
            };
            fused.Add(batch);
            reference.AddReference(batch);
            AssertSame(reference, fused, $"batch {b}");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void NaNAndInfinityThrowTheSameErrorAndChangeNothingInEitherPath(int bins, string loopName)
    {
        var random = new Random(3);
        var large = 4 * bins * 2;
        foreach (var withRange in new[] { false, true })
        {
            foreach (var bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
            {
                foreach (var position in new[] { 0, large / 2, large - 1 })
                {
                    var fused = new StreamingHistogram(bins, Enum.Parse<CountingLoop>(loopName));
                    var reference = new StreamingHistogram(bins, Enum.Parse<CountingLoop>(loopName));
                    if (withRange)
                    {
                        var first = Gaussian(random, large, 1f);
                        fused.Add(first);
                        reference.AddReference(first);
                    }
                    var batch = Gaussian(random, large, 1f);
                    batch[position] = bad;
                    var expected = Assert.Throws<SharpQuantException>(() => reference.AddReference(batch));
                    var actual = Assert.Throws<SharpQuantException>(() => fused.Add(batch));
                    Assert.Equal(expected.Message, actual.Message);
                    AssertSame(reference, fused, $"{bad} at {position}, range {withRange}");
                    // Nothing was left behind in the lanes: the next batch counts the same in both.
                    var next = Relu(Gaussian(random, large, 1f));
                    fused.Add(next);
                    reference.AddReference(next);
                    AssertSame(reference, fused, $"after {bad} at {position}, range {withRange}");
                }
            }
        }
    }

    [Fact]
    public void BothCountingLoopsGiveEveryValueTheScalarFormulasBin()
    {
        const int bins = 2048, zeroBin = 700;
        const float inverseWidth = 1 / 0.037f;
        var random = new Random(12);
        // Values on both sides, many in the zero bin, and past both ends (clamped into the end bins).
        var values = Gaussian(random, 50_001, 20f).Concat(new float[5000]).Concat(Uniform(random, 3000, 0f, 0.037f))
            .Concat([-1e6f, 1e6f, -0f, 1e-40f]).ToArray();
        random.Shuffle(values);
        var expected = new int[HistogramKernels.Lanes * bins];
        foreach (var x in values)
        {
            expected[HistogramKernels.BinOf(x, inverseWidth, zeroBin, bins - 1)]++;
        }
        foreach (var loop in Enum.GetValues<CountingLoop>().Where(HistogramKernels.Supports))
        {
            var lanes = new int[HistogramKernels.Lanes * bins];
            var (min, max) = HistogramKernels.Count(loop, values, inverseWidth, zeroBin, bins - 1, lanes);
            var summed = new int[HistogramKernels.Lanes * bins];
            for (var b = 0; b < bins; b++)
            {
                for (var lane = 0; lane < HistogramKernels.Lanes; lane++)
                {
                    summed[b] += lanes[(lane * bins) + b];
                }
            }
            Assert.Equal(expected, summed);
            Assert.Equal(BitConverter.SingleToInt32Bits(TensorPrimitives.Min<float>(values)), BitConverter.SingleToInt32Bits(min));
            Assert.Equal(BitConverter.SingleToInt32Bits(TensorPrimitives.Max<float>(values)), BitConverter.SingleToInt32Bits(max));
        }
    }

    [Fact]
    public void ZeroBinPackingKeepsEveryOtherValueForEveryPatternOfZeros()
    {
        if (!HistogramKernels.CanPackZeroBin)
        {
            return;
        }
        const int bins = 64, zeroBin = 10;
        // Vector k (8 values) has zeros exactly where k has a set bit, elsewhere values in distinct bins, so every
        // entry of the left-pack table is used once and a wrong shuffle would move a count to another bin.
        var values = new float[256 * 8];
        for (var mask = 0; mask < 256; mask++)
        {
            for (var lane = 0; lane < 8; lane++)
            {
                values[(mask * 8) + lane] = (mask & (1 << lane)) != 0 ? 0f : (lane + 1) * 5.5f - 20f;
            }
        }
        var expected = new int[bins];
        foreach (var x in values)
        {
            expected[HistogramKernels.BinOf(x, 1f, zeroBin, bins - 1)]++;
        }
        var lanes = new int[HistogramKernels.Lanes * bins];
        HistogramKernels.CountPackingZeroBin(values, 1f, zeroBin, bins - 1, lanes);
        var summed = Enumerable.Range(0, bins).Select(b => Enumerable.Range(0, HistogramKernels.Lanes).Sum(lane => lanes[(lane * bins) + b])).ToArray();
        Assert.Equal(expected, summed);
    }

    [SkippableFact]
    public void ZeroBinCompressionKeepsEveryOtherValueForEveryPatternOfZeros()
    {
        Skip.IfNot(HistogramKernels.CanCompressZeroBin, "this CPU has no AVX-512: the compressing loop cannot run here");
        const int bins = 64, zeroBin = 10, width = 16;
        // Vector k (16 values) has zeros exactly where k has a set bit, elsewhere values in distinct bins: every
        // compress mask occurs once, and a lane dropped or kept twice would change a bin's count.
        var values = new float[(1 << width) * width];
        for (var mask = 0; mask < 1 << width; mask++)
        {
            for (var lane = 0; lane < width; lane++)
            {
                values[(mask * width) + lane] = (mask & (1 << lane)) != 0 ? 0f : (lane + 1) * 2.5f - 9f;
            }
        }
        var expected = new int[bins];
        foreach (var x in values)
        {
            expected[HistogramKernels.BinOf(x, 1f, zeroBin, bins - 1)]++;
        }
        var lanes = new int[HistogramKernels.Lanes * bins];
        HistogramKernels.CountCompressingZeroBin(values, 1f, zeroBin, bins - 1, lanes);
        var summed = Enumerable.Range(0, bins).Select(b => Enumerable.Range(0, HistogramKernels.Lanes).Sum(lane => lanes[(lane * bins) + b])).ToArray();
        Assert.Equal(expected, summed);
    }

    [Fact]
    public void OnePassExtremesEqualTensorPrimitivesBitForBit()
    {
        var random = new Random(5);
        float[] specials = [0f, -0f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, -float.Epsilon, float.MaxValue, float.MinValue];
        for (var trial = 0; trial < 400; trial++)
        {
            var length = 1 + random.Next(trial < 200 ? 40 : 3000);
            var values = trial % 3 == 0 ? new float[length] : Gaussian(random, length, 2f);
            // Sprinkle signed zeros and, in some trials, special values at random places (the vector body and the tail).
            for (var k = random.Next(4); k > 0; k--)
            {
                values[random.Next(length)] = random.Next(2) == 0 ? -0f : 0f;
            }
            if (trial % 2 == 1)
            {
                values[random.Next(length)] = specials[random.Next(specials.Length)];
            }
            var (min, max) = ChannelExtremes.MinMax(values);
            Assert.Equal(BitConverter.SingleToInt32Bits(TensorPrimitives.Min<float>(values)), BitConverter.SingleToInt32Bits(min));
            Assert.Equal(BitConverter.SingleToInt32Bits(TensorPrimitives.Max<float>(values)), BitConverter.SingleToInt32Bits(max));
        }
    }

    [Fact]
    public void MinMaxObserverKeepsTheRunningExtremesOfEveryChannel()
    {
        var random = new Random(9);
        var spec = new QuantSpec { Bits = 8, Signed = true, Scheme = QuantScheme.Symmetric, Axis = 1 };
        var observer = new MinMaxObserver(spec);
        var min = Enumerable.Repeat(float.PositiveInfinity, 3).ToArray();
        var max = Enumerable.Repeat(float.NegativeInfinity, 3).ToArray();
        for (var b = 0; b < 3; b++)
        {
            var data = Gaussian(random, 2 * 3 * 37, b + 1f);
            data[5] = -0f;
            observer.Observe(Tensor.FromFloats(data, 2, 3, 37));
            for (var o = 0; o < 2; o++)
            {
                for (var c = 0; c < 3; c++)
                {
                    var run = data.AsSpan(((o * 3) + c) * 37, 37);
                    min[c] = Math.Min(min[c], TensorPrimitives.Min<float>(run));
                    max[c] = Math.Max(max[c], TensorPrimitives.Max<float>(run));
                }
            }
        }
        Assert.Equal(min.Zip(max, (lo, hi) => ((double)lo, (double)hi)), observer.Ranges());
    }

    private static void AssertSame(StreamingHistogram expected, StreamingHistogram actual, string at)
    {
        Assert.True(expected.Counts.SequenceEqual(actual.Counts), $"counts differ after {at}");
        Assert.Equal(expected.BinWidth, actual.BinWidth);
        Assert.Equal(expected.ZeroBin, actual.ZeroBin);
        Assert.Equal(expected.HasRange, actual.HasRange);
        Assert.Equal(expected.Total, actual.Total);
        Assert.Equal(BitConverter.SingleToInt32Bits(expected.Min), BitConverter.SingleToInt32Bits(actual.Min));
        Assert.Equal(BitConverter.SingleToInt32Bits(expected.Max), BitConverter.SingleToInt32Bits(actual.Max));
    }

    /// <summary>Values on the edges of the histogram's current bins, and a hair past the two outer edges.</summary>
    private static float[] EdgeValues(StreamingHistogram histogram, int count)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = (float)histogram.Edge(i % (histogram.BinCount + 1));
        }
        values[0] = (float)(histogram.Lo * (1 + 1e-12));
        values[1] = (float)(histogram.Hi * (1 + 1e-12));
        return values;
    }

    private static float[] Relu(float[] values) => values.Select(v => Math.Max(v, 0f)).ToArray();

    private static float[] Denormals(Random random, int count)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = random.Next(4) switch
            {
                0 => 0f,
                1 => -0f,
                _ => BitConverter.Int32BitsToSingle(random.Next(1, 1 << 23)) * (random.Next(2) == 0 ? -1 : 1),
            };
        }
        return values;
    }

    private static float[] Uniform(Random random, int count, float lo, float hi)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = lo + ((hi - lo) * random.NextSingle());
        }
        return values;
    }

    private static float[] Gaussian(Random random, int count, float sigma)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            var u1 = 1 - random.NextDouble();
            var u2 = random.NextDouble();
            values[i] = (float)(sigma * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return values;
    }
}
