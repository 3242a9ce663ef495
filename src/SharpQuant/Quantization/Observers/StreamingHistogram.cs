using System.Numerics.Tensors;

namespace SharpQuant.Quantization.Observers;

/// <summary>
/// A histogram with a fixed number of equal bins over a range that grows as batches arrive, so memory stays
/// the same however many batches it sees.
/// <para>
/// The bin edges always lie on the lattice k·w (w the bin width, k an integer), so 0 is always an edge:
/// bin i covers [(i − z)·w, (i − z + 1)·w) with z = <see cref="ZeroBin"/>. That makes the histogram of |x|
/// an exact fold of this one (bin j of |x| = bins z + j and z − 1 − j), and the sign of every value exact.
/// When a batch falls outside the range, the width grows by an integer factor k (k = 1: the bins only shift into
/// empty room) and the lattice is re-aligned so that every old bin lies inside exactly one new bin: the old counts
/// merge without any interpolation. PyTorch's HistogramObserver also grows by whole factors, but its new range is
/// not aligned with the old bins, so it spreads old counts over upsampled sub-bins, which blurs them a little.
/// </para>
/// <para>
/// Memory is two arrays of <see cref="BinCount"/> longs (the counts and a spare for merging) and, once a large
/// batch arrives, four int arrays of the same length for the hot loop (<see cref="HistogramKernels"/>), whatever
/// the data.
/// </para>
/// </summary>
public sealed class StreamingHistogram
{
    /// <summary>Fewest bins accepted: a coarser histogram cannot tell the bulk of a distribution from its tail.</summary>
    public const int MinimumBins = 16;

    /// <summary>Most bins accepted: 2^24 bins of 8 bytes is already 128 MiB per histogram.</summary>
    public const int MaximumBins = 1 << 24;

    /// <summary>
    /// Relative slack when checking whether a batch fits: products like z·w carry rounding, and a value a hair past
    /// the last edge only needs clamping into the end bin, not a doubling of the range.
    /// </summary>
    private const double CoverTolerance = 1e-9;

    /// <summary>
    /// Narrowest bin: far below any value a float network carries (denormal-sized data would otherwise make 1/w
    /// overflow the float used in the hot loop).
    /// </summary>
    private const double MinimumWidth = 1e-30;

    /// <summary>Values of a short span whose bin indices are computed at a time: small enough for the stack.</summary>
    private const int ShortSpanChunk = 4096;

    private long[] _counts;
    private long[] _spare;
    private int[]? _lanes;
    private double _width;
    private int _zeroBin;
    private long _pendingZeros;

    private readonly CountingLoop _loop;

    public StreamingHistogram(int bins)
        : this(bins, HistogramKernels.Fastest)
    {
    }

    /// <summary>
    /// <paramref name="loop"/> picks the counting loop (the portable one where the machine lacks the asked-for
    /// instructions); tests run every loop on one machine.
    /// </summary>
    internal StreamingHistogram(int bins, CountingLoop loop)
    {
        _loop = HistogramKernels.Supports(loop) ? loop : CountingLoop.Portable;
        if (bins is < MinimumBins or > MaximumBins)
        {
            throw new SharpQuantException($"a histogram observer needs {MinimumBins} to {MaximumBins} bins, not {bins}");
        }
        _counts = new long[bins];
        _spare = new long[bins];
    }

    /// <summary>Number of bins; fixed at construction.</summary>
    public int BinCount => _counts.Length;

    /// <summary>Values observed so far.</summary>
    public long Total { get; private set; }

    /// <summary>Smallest value observed (+∞ before any).</summary>
    public float Min { get; private set; } = float.PositiveInfinity;

    /// <summary>Largest value observed (−∞ before any).</summary>
    public float Max { get; private set; } = float.NegativeInfinity;

    /// <summary>Largest |x| observed (0 before any).</summary>
    public double MaxAbs => Total == 0 ? 0 : Math.Max(-(double)Min, Max);

    /// <summary>
    /// False while every value seen was 0 (or none was seen): no width can be chosen yet, the zeros are kept
    /// aside and placed in the zero bin when the first non-zero value fixes the range.
    /// </summary>
    public bool HasRange => _width > 0;

    /// <summary>Width of every bin (0 while <see cref="HasRange"/> is false).</summary>
    public double BinWidth => _width;

    /// <summary>Index of the bin whose lower edge is 0: bins below it hold the negative values.</summary>
    public int ZeroBin => _zeroBin;

    /// <summary>Lower edge of the first bin.</summary>
    public double Lo => -_zeroBin * _width;

    /// <summary>Upper edge of the last bin.</summary>
    public double Hi => (_counts.Length - _zeroBin) * _width;

    /// <summary>Lower edge of bin <paramref name="index"/> (index = BinCount gives the upper edge of the last bin).</summary>
    public double Edge(int index) => (index - _zeroBin) * _width;

    /// <summary>The counts per bin. Before the range is fixed (only zeros seen) they are all 0.</summary>
    public ReadOnlySpan<long> Counts => _counts;

    /// <summary>Adds one batch of values. Throws, and changes nothing, when a value is NaN or infinite.</summary>
    /// <remarks>
    /// Once the range is fixed, a large batch is read once: one pass counts it into the lanes under the current
    /// range while it finds the batch's extremes. Only when those turn out non-finite or outside the range (rare
    /// after the first batches) are the lane counts dropped and the batch counted again after the range grew, so
    /// the result is always the one <see cref="AddReference"/> gives.
    /// </remarks>
    public void Add(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty)
        {
            return;
        }
        if (HasRange && UsesLanes(values.Length))
        {
            var lanes = Lanes();
            var (batchMin, batchMax) = CountIntoLanes(values, lanes);
            if (float.IsFinite(batchMin) && float.IsFinite(batchMax) && Covers(batchMin, batchMax))
            {
                Record(batchMin, batchMax, values.Length);
                FoldLanes(lanes);
                return;
            }
            Array.Clear(lanes);
            Accept(values, batchMin, batchMax);
            return;
        }
        var (min, max) = ChannelExtremes.MinMax(values);
        Accept(values, min, max);
    }

    /// <summary>
    /// The straightforward formulas <see cref="Add"/> must match bit for bit: the extremes from TensorPrimitives,
    /// the range grown first, then every value's bin from the scalar formula straight into the counts. For tests.
    /// </summary>
    internal void AddReference(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty)
        {
            return;
        }
        if (!Admit(TensorPrimitives.Min(values), TensorPrimitives.Max(values), values.Length))
        {
            return;
        }
        var inverseWidth = (float)(1 / _width);
        var last = _counts.Length - 1;
        foreach (var x in values)
        {
            _counts[HistogramKernels.BinOf(x, inverseWidth, _zeroBin, last)]++;
        }
    }

    /// <summary>Takes a batch whose extremes are known: screens them, grows the range to cover them and counts it.</summary>
    private void Accept(ReadOnlySpan<float> values, float min, float max)
    {
        if (Admit(min, max, values.Length))
        {
            Bin(values);
        }
    }

    /// <summary>
    /// Screens a batch's extremes, records them and grows the range to cover them; false when the batch is all zeros
    /// and there is no range yet (the zeros wait for one), so there is nothing to count now.
    /// </summary>
    private bool Admit(float min, float max, int count)
    {
        ThrowIfNotFinite(min, max, count);
        Record(min, max, count);
        if (min == 0 && max == 0 && !HasRange)
        {
            _pendingZeros += count;
            return false;
        }
        Cover(min, max);
        return true;
    }

    // The extremes propagate NaN (IEEE 754:2019 minimum and maximum), so checking them screens the whole batch.
    private static void ThrowIfNotFinite(float min, float max, int count)
    {
        if (float.IsNaN(min) || float.IsNaN(max))
        {
            throw new SharpQuantException($"the observer received NaN among {count} values: calibration data or an upstream op produced it");
        }
        if (float.IsInfinity(min) || float.IsInfinity(max))
        {
            throw new SharpQuantException($"the observer received an infinite value (batch range [{min}, {max}]): calibration data or an upstream op overflowed");
        }
    }

    private void Record(float min, float max, int count)
    {
        Min = Math.Min(Min, min);
        Max = Math.Max(Max, max);
        Total += count;
    }

    /// <summary>Forgets everything; the bins stay allocated.</summary>
    public void Reset()
    {
        Array.Clear(_counts);
        _width = 0;
        _zeroBin = 0;
        _pendingZeros = 0;
        Total = 0;
        Min = float.PositiveInfinity;
        Max = float.NegativeInfinity;
    }

    /// <summary>
    /// Counts of |x| per bin of width <see cref="BinWidth"/> starting at 0: bin j covers [j·w, (j + 1)·w).
    /// Its length is max(z, BinCount − z), the longer side of zero.
    /// </summary>
    public long[] MagnitudeCounts()
    {
        var bins = _counts.Length;
        var folded = new long[Math.Max(_zeroBin, bins - _zeroBin)];
        for (var j = 0; j < folded.Length; j++)
        {
            var up = _zeroBin + j;
            var down = _zeroBin - 1 - j;
            folded[j] = (up < bins ? _counts[up] : 0) + (down >= 0 ? _counts[down] : 0);
        }
        return folded;
    }

    /// <summary>Counts values that lie inside the range (Cover ran first), so clamping only catches rounding at the two ends.</summary>
    private void Bin(ReadOnlySpan<float> values)
    {
        if (UsesLanes(values.Length))
        {
            var lanes = Lanes();
            CountIntoLanes(values, lanes);
            FoldLanes(lanes);
            return;
        }
        // Folding the lanes costs a pass over Lanes × bins counters, so short spans (a weight channel) increment
        // the counts directly.
        var last = _counts.Length - 1;
        var inverseWidth = (float)(1 / _width);
        Span<int> indices = stackalloc int[ShortSpanChunk];
        for (var start = 0; start < values.Length; start += ShortSpanChunk)
        {
            var chunk = values.Slice(start, Math.Min(ShortSpanChunk, values.Length - start));
            var index = indices[..chunk.Length];
            HistogramKernels.BinIndices(chunk, inverseWidth, _zeroBin, last, index);
            foreach (var b in index)
            {
                _counts[b]++;
            }
        }
    }

    private bool UsesLanes(int count) => count >= HistogramKernels.Lanes * _counts.Length;

    private int[] Lanes() => _lanes ??= new int[HistogramKernels.Lanes * _counts.Length];

    /// <summary>
    /// Adds every value's bin under the current range to the lanes (values outside it clamped into the end bins)
    /// and returns the span's extremes, NaN when a value is NaN.
    /// </summary>
    private (float Min, float Max) CountIntoLanes(ReadOnlySpan<float> values, int[] lanes)
    {
        var inverseWidth = (float)(1 / _width);
        var last = _counts.Length - 1;
        return HistogramKernels.Count(_loop, values, inverseWidth, _zeroBin, last, lanes);
    }

    /// <summary>Adds the lanes into the counts and clears them.</summary>
    private void FoldLanes(int[] lanes)
    {
        // A span holds fewer than 2^31 values, so no int lane can have overflowed.
        var bins = _counts.Length;
        for (var lane = 0; lane < HistogramKernels.Lanes; lane++)
        {
            var counts = lanes.AsSpan(lane * bins, bins);
            for (var b = 0; b < bins; b++)
            {
                _counts[b] += counts[b];
            }
            counts.Clear();
        }
    }

    /// <summary>
    /// Whether the range already holds [min, max] (0 always lies inside). The slack absorbs rounding in z·w: a
    /// value a hair past the last edge only needs clamping into the end bin, not a growth of the range.
    /// </summary>
    private bool Covers(float min, float max)
    {
        var below = -Math.Min((double)min, 0);
        var above = Math.Max((double)max, 0);
        return below <= _zeroBin * _width * (1 + CoverTolerance) && above <= (_counts.Length - _zeroBin) * _width * (1 + CoverTolerance);
    }

    /// <summary>Makes the range include [min, max] (and 0), growing it if needed.</summary>
    private void Cover(float min, float max)
    {
        var bins = _counts.Length;
        var below = -Math.Min((double)min, 0);
        var above = Math.Max((double)max, 0);
        if (!HasRange)
        {
            // One spare bin absorbs the rounding of ceil(below / w): then z·w ≥ below and (bins − z)·w ≥ above.
            _width = Math.Max((below + above) / (bins - 1), MinimumWidth);
            _zeroBin = Math.Min((int)Math.Ceiling(below / _width), bins - 1);
            _counts[_zeroBin] += _pendingZeros;
            _pendingZeros = 0;
            return;
        }
        if (Covers(min, max))
        {
            return;
        }
        // In units of the old width: what the new range must reach below and above zero. It must hold the old
        // non-empty bins, but not the old empty ones at the ends: otherwise the slack of every growth would be
        // carried into the next, and a range grown alternately on both sides would drift far wider than the data.
        var (first, last) = OccupiedExtent();
        var needBelow = Math.Max(Math.Max(_zeroBin - first, 0), below / _width);
        // At least one bin above zero, so the bin starting at 0 always exists (all-negative data waste one bin).
        var needAbove = Math.Max(Math.Max(last + 1 - _zeroBin, 1), above / _width);
        var factor = Math.Ceiling((needBelow + needAbove) / bins);
        if (!Fits(factor))
        {
            factor++;
        }
        if (!Fits(factor))
        {
            // Always fits: each ceil below adds less than one bin, and two bins are held back for them.
            factor = Math.Ceiling((needBelow + needAbove) / (bins - 2));
        }
        var newZeroBin = (int)Math.Ceiling(needBelow / factor);
        Merge(factor, newZeroBin);
        _width *= factor;
        _zeroBin = newZeroBin;

        bool Fits(double k) => Math.Ceiling(needBelow / k) + Math.Ceiling(needAbove / k) <= bins;
    }

    /// <summary>First and last non-empty bins; (z, z − 1), an empty extent at zero, when all bins are empty.</summary>
    private (int First, int Last) OccupiedExtent()
    {
        var first = Array.FindIndex(_counts, c => c != 0);
        return first < 0 ? (_zeroBin, _zeroBin - 1) : (first, Array.FindLastIndex(_counts, c => c != 0));
    }

    /// <summary>
    /// Moves every old bin into the new bin that contains it. Old bin i spans [i − z, i − z + 1) old widths from 0;
    /// with an integer factor k its new bin is floor((i − z) / k) + z', which the bin centre gives exactly
    /// (the centre never crosses a multiple of k), and which stays correct when k is too large for exact integers.
    /// </summary>
    private void Merge(double factor, int newZeroBin)
    {
        var target = _spare;
        Array.Clear(target);
        var last = target.Length - 1;
        for (var i = 0; i < _counts.Length; i++)
        {
            var count = _counts[i];
            if (count == 0)
            {
                continue;
            }
            var j = (long)Math.Floor((i - _zeroBin + 0.5) / factor) + newZeroBin;
            target[Math.Clamp(j, 0, last)] += count;
        }
        (_counts, _spare) = (target, _counts);
    }
}
