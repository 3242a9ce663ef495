using System.Numerics.Tensors;
using SharpQuant.Quantization;

namespace SharpQuant.Analysis;

/// <summary>
/// A histogram drawn on a quantization grid (EasyQuant's convention, DESIGN.md "Visualization"): 5 bins per
/// quantization step, centred on the centroids q = qmin … qmax, over a range that extends half the quantization range
/// beyond each end of [qmin, qmax]. Values are binned in integer units t = x/s + z, each with its own channel's scale
/// and zero point, so all channels of a per-channel weight share the one grid. It accumulates in a streaming way
/// (<see cref="Add(ReadOnlySpan{float}, float, int, ReadOnlySpan{float})"/> any number of times in fixed memory) and
/// optionally sums a second array of the same length (the gradients of the model output with respect to these values)
/// into the same bins, signed, as EasyQuant does with <c>bincount(..., weights=grad)</c>. Not thread-safe: one writer.
/// </summary>
public sealed class QuantGridHistogram
{
    /// <summary>Histogram bins per quantization step (EasyQuant's choice): enough to see where inside a step the values sit.</summary>
    public const int BinsPerStep = 5;

    /// <summary>The moving average spans 9 quantization steps (EasyQuant's smoothing window).</summary>
    public const int SmoothingSteps = 9;

    /// <summary>The moving average's window in bins: 45, odd, so it is centred on its bin.</summary>
    public const int SmoothingBins = SmoothingSteps * BinsPerStep;

    /// <summary>Where the centroid sits in the 5 intra-bin numbers, which run over the sub-bin offsets −2, −1, 0, +1, +2.</summary>
    public const int CentroidSubBin = BinsPerStep / 2;

    /// <summary>The range extends this fraction of the quantization range (qmax − qmin) beyond each end of [qmin, qmax].</summary>
    public const double RangeExtension = 0.5;

    // Values are turned into bin positions in chunks of this many, so memory stays fixed whatever is added.
    private const int ChunkSize = 16384;

    private readonly long[] _counts;
    private readonly double[] _gradients;
    private readonly float[] _positions = new float[ChunkSize];
    private long _underflow;
    private long _overflow;
    private long _zeroBinCount;
    private double _gradientOutside;

    /// <param name="qmin">The smallest integer of the grid.</param>
    /// <param name="qmax">The largest integer of the grid.</param>
    /// <param name="axis">How the grid is read: <see cref="QuantGridAxis.Value"/> needs the per-tensor <paramref name="scale"/> and <paramref name="zeroPoint"/>.</param>
    public QuantGridHistogram(int qmin, int qmax, QuantGridAxis axis = QuantGridAxis.Integer, float scale = 1, int zeroPoint = 0)
    {
        if (qmax <= qmin)
        {
            throw new SharpQuantException($"a quantization grid needs qmin < qmax, not [{qmin}, {qmax}]");
        }
        if (!(scale > 0) || !float.IsFinite(scale))
        {
            throw new SharpQuantException($"a quantization grid needs a positive finite scale, not {scale}");
        }
        QMin = qmin;
        QMax = qmax;
        Axis = axis;
        Scale = scale;
        ZeroPoint = zeroPoint;
        // Rounded up to whole steps, so every step keeps its 5 sub-bins and the bins stay centred on the centroids.
        ExtensionSteps = (int)Math.Ceiling((qmax - qmin) * RangeExtension);
        FirstCentroid = qmin - ExtensionSteps;
        Steps = qmax - qmin + 1 + 2 * ExtensionSteps;
        _counts = new long[Steps * BinsPerStep];
        _gradients = new double[Steps * BinsPerStep];
    }

    /// <summary>A histogram for a weight quantizer: integer units, any number of channels.</summary>
    public static QuantGridHistogram ForWeights(QParams qparams) => new(qparams.QMin, qparams.QMax);

    /// <summary>A histogram for a per-tensor (activation) quantizer: on the value scale of its scale and zero point.</summary>
    public static QuantGridHistogram ForActivations(QParams qparams) =>
        qparams.Count == 1
            ? new(qparams.QMin, qparams.QMax, QuantGridAxis.Value, qparams.Scale[0], qparams.ZeroPoint[0])
            : throw new SharpQuantException("an activation histogram on the value scale needs one scale and zero point (a per-tensor quantizer)");

    public int QMin { get; }
    public int QMax { get; }
    public QuantGridAxis Axis { get; }

    /// <summary>The scale of the value axis (1 on the integer axis).</summary>
    public float Scale { get; }

    /// <summary>The zero point of the value axis (0 on the integer axis).</summary>
    public int ZeroPoint { get; }

    /// <summary>Whole quantization steps added beyond each end: ⌈(qmax − qmin)/2⌉.</summary>
    public int ExtensionSteps { get; }

    /// <summary>The integer the first 5 bins are centred on: qmin − <see cref="ExtensionSteps"/>.</summary>
    public int FirstCentroid { get; }

    /// <summary>Quantization steps covered: qmax − qmin + 1 + 2·<see cref="ExtensionSteps"/>.</summary>
    public int Steps { get; }

    public int BinCount => _counts.Length;

    /// <summary>The left edge of the first bin, in integer units.</summary>
    public double Start => FirstCentroid - 0.5;

    /// <summary>Bin width in integer units: a fifth of a step.</summary>
    public static double BinWidth => 1.0 / BinsPerStep;

    /// <summary>Values added (inside and outside the binned range).</summary>
    public long Total { get; private set; }

    public long Underflow => _underflow;
    public long Overflow => _overflow;

    /// <summary>The smallest value added (float value, not integer units); NaN before any.</summary>
    public float Min { get; private set; } = float.NaN;

    /// <summary>The largest value added (float value, not integer units); NaN before any.</summary>
    public float Max { get; private set; } = float.NaN;

    /// <summary>
    /// The smallest value added in integer units x/s + z (each with its own channel's scale): where the float range
    /// starts on the grid. NaN before any value.
    /// </summary>
    public double MinUnits { get; private set; } = double.NaN;

    /// <summary>The largest value added in integer units; NaN before any value.</summary>
    public double MaxUnits { get; private set; } = double.NaN;

    public bool HasGradients { get; private set; }

    public ReadOnlySpan<long> Counts => _counts;

    /// <summary>The signed gradient sums per bin (zero where no gradients were added).</summary>
    public ReadOnlySpan<double> GradientSums => _gradients;

    /// <summary>The signed sum of the gradients of values outside the binned range.</summary>
    public double GradientOutside => _gradientOutside;

    /// <summary>The centre of bin <paramref name="bin"/> in integer units: FirstCentroid + ⌊bin/5⌋ + (bin mod 5 − 2)/5.</summary>
    public double BinCentre(int bin) => Start + (bin + 0.5) * BinWidth;

    /// <summary>Integer units to the histogram's axis: t itself, or (t − z)·s on the value axis.</summary>
    public double ToAxis(double integerUnits) => Axis == QuantGridAxis.Integer ? integerUnits : (integerUnits - ZeroPoint) * (double)Scale;

    /// <summary>The bin whose centre is the integer <paramref name="q"/>.</summary>
    public int CentroidBin(int q) => (q - FirstCentroid) * BinsPerStep + CentroidSubBin;

    /// <summary>The sub-bin offset of a bin from its centroid: −2 … +2 fifths of a step.</summary>
    public static int SubBinOffset(int bin) => bin % BinsPerStep - CentroidSubBin;

    /// <summary>Adds a tensor with its quantizer's parameters: one scale and zero point, or one per channel along their axis.</summary>
    public void Add(Tensor values, QParams qparams, Tensor? gradients = null)
    {
        if (gradients is not null && gradients.ElementCount != values.ElementCount)
        {
            throw new SharpQuantException($"the gradients ({gradients.ElementCount} values) must match the tensor ({values.ElementCount} values)");
        }
        var data = values.Floats;
        var grad = gradients is null ? default : (ReadOnlySpan<float>)gradients.Floats;
        if (!qparams.IsPerChannel)
        {
            Add(data, qparams.Scale[0], qparams.ZeroPoint[0], grad);
            return;
        }
        var (outer, channels, inner) = QuantMath.ChannelLayout(values.Shape, qparams);
        if (channels != qparams.Count)
        {
            throw new SharpQuantException($"the tensor has {channels} channels along axis {qparams.Axis}, its quantizer {qparams.Count}");
        }
        if (inner == 1)
        {
            AddRows(data, grad, qparams, (int)outer, channels);
            return;
        }
        for (long o = 0; o < outer; o++)
        {
            for (var c = 0; c < channels; c++)
            {
                var offset = (int)((o * channels + c) * inner);
                Add(data.Slice(offset, (int)inner), qparams.Scale[c], qparams.ZeroPoint[c], grad.IsEmpty ? default : grad.Slice(offset, (int)inner));
            }
        }
    }

    /// <summary>
    /// Channels along the last axis (a MatMul or Gemm weight [in, out]): each row holds one value of every channel, so
    /// the row is binned at once with per-element scales instead of one call per value.
    /// </summary>
    private void AddRows(ReadOnlySpan<float> data, ReadOnlySpan<float> gradients, QParams qparams, int rows, int channels)
    {
        ValidateScales(qparams.Scale);
        var offsets = qparams.ZeroPoint.Select(z => (float)((z - Start) * BinsPerStep)).ToArray();
        var zeroBins = qparams.ZeroPoint.Select(CentroidBin).ToArray();
        for (var r = 0; r < rows; r++)
        {
            var row = data.Slice(r * channels, channels);
            var rowGradients = gradients.IsEmpty ? default : gradients.Slice(r * channels, channels);
            if (!UpdateRange(row, !rowGradients.IsEmpty))
            {
                continue;
            }
            for (var startAt = 0; startAt < channels; startAt += ChunkSize)
            {
                var n = Math.Min(ChunkSize, channels - startAt);
                var positions = _positions.AsSpan(0, n);
                TensorPrimitives.Divide(row.Slice(startAt, n), qparams.Scale.AsSpan(startAt, n), positions);
                TensorPrimitives.Multiply(positions, BinsPerStep, positions);
                TensorPrimitives.Add(positions, offsets.AsSpan(startAt, n), positions);
                TrackUnits(positions);
                TensorPrimitives.Floor(positions, positions);
                Count(positions, rowGradients.IsEmpty ? default : rowGradients.Slice(startAt, n), zeroBins.AsSpan(startAt, n));
            }
        }
    }

    private static void ValidateScales(ReadOnlySpan<float> scales)
    {
        foreach (var scale in scales)
        {
            if (!(scale > 0) || !float.IsFinite(scale))
            {
                throw new SharpQuantException($"a quantization grid needs a positive finite scale, not {scale}");
            }
        }
    }

    /// <summary>Counts the values and widens the float range; false for an empty span. Rejects NaN.</summary>
    private bool UpdateRange(ReadOnlySpan<float> values, bool withGradients)
    {
        if (values.IsEmpty)
        {
            return false;
        }
        HasGradients |= withGradients;
        var min = TensorPrimitives.Min(values);
        var max = TensorPrimitives.Max(values);
        if (float.IsNaN(min) || float.IsNaN(max))
        {
            throw new SharpQuantException("a histogram cannot bin NaN values");
        }
        Min = float.IsNaN(Min) ? min : Math.Min(Min, min);
        Max = float.IsNaN(Max) ? max : Math.Max(Max, max);
        Total += values.Length;
        return true;
    }

    /// <summary>Widens the range in integer units from bin positions (before they are floored).</summary>
    private void TrackUnits(ReadOnlySpan<float> positions)
    {
        var lowest = Start + TensorPrimitives.Min(positions) * BinWidth;
        var highest = Start + TensorPrimitives.Max(positions) * BinWidth;
        MinUnits = double.IsNaN(MinUnits) ? lowest : Math.Min(MinUnits, lowest);
        MaxUnits = double.IsNaN(MaxUnits) ? highest : Math.Max(MaxUnits, highest);
    }

    /// <summary>
    /// Adds values quantized with one scale and zero point, and optionally their gradients (same length), summed
    /// signed into the same bins. A value goes to the bin ⌊(x/s + z − Start)·5⌋ (bins are half-open on the right);
    /// values beyond the binned range are counted (and their gradients summed) outside it.
    /// </summary>
    public void Add(ReadOnlySpan<float> values, float scale, int zeroPoint, ReadOnlySpan<float> gradients = default)
    {
        if (!gradients.IsEmpty && gradients.Length != values.Length)
        {
            throw new SharpQuantException($"the gradients ({gradients.Length} values) must match the values ({values.Length})");
        }
        ValidateScales([scale]);
        if (!UpdateRange(values, !gradients.IsEmpty))
        {
            return;
        }
        var positionOffset = (float)((zeroPoint - Start) * BinsPerStep);
        var zeroBin = CentroidBin(zeroPoint);
        for (var startAt = 0; startAt < values.Length; startAt += ChunkSize)
        {
            var n = Math.Min(ChunkSize, values.Length - startAt);
            var chunk = values.Slice(startAt, n);
            var positions = _positions.AsSpan(0, n);
            // x / s first, as the quantizer computes it, so a value on a centroid lands in the middle of its bin.
            TensorPrimitives.Divide(chunk, scale, positions);
            TensorPrimitives.Multiply(positions, BinsPerStep, positions);
            TensorPrimitives.Add(positions, positionOffset, positions);
            TrackUnits(positions);
            TensorPrimitives.Floor(positions, positions);
            Count(positions, gradients.IsEmpty ? default : gradients.Slice(startAt, n), [zeroBin]);
        }
    }

    /// <summary>Counts floored bin positions; <paramref name="zeroBins"/> holds one zero bin for all, or one per position.</summary>
    private void Count(ReadOnlySpan<float> positions, ReadOnlySpan<float> gradients, ReadOnlySpan<int> zeroBins)
    {
        var sharedZero = zeroBins.Length == 1;
        var bins = _counts.Length;
        for (var i = 0; i < positions.Length; i++)
        {
            var p = positions[i];
            if (p < 0 || p >= bins)
            {
                // Infinite values land here too: they are outside every grid.
                if (p < 0)
                {
                    _underflow++;
                }
                else
                {
                    _overflow++;
                }
                if (!gradients.IsEmpty)
                {
                    _gradientOutside += gradients[i];
                }
                continue;
            }
            var bin = (int)p;
            _counts[bin]++;
            if (bin == zeroBins[sharedZero ? 0 : i])
            {
                _zeroBinCount++;
            }
            if (!gradients.IsEmpty)
            {
                _gradients[bin] += gradients[i];
            }
        }
    }

    /// <summary>Counts normalised by every value added (those outside the binned range included, so the bins may sum to less than 1).</summary>
    public double[] Probabilities()
    {
        var p = new double[_counts.Length];
        if (Total == 0)
        {
            return p;
        }
        for (var i = 0; i < p.Length; i++)
        {
            p[i] = (double)_counts[i] / Total;
        }
        return p;
    }

    /// <summary>
    /// The fraction of values the quantizer clamps: those outside [qmin − ½, qmax + ½) in integer units (they round
    /// beyond qmin or qmax), whether inside the extended bins or beyond them.
    /// </summary>
    public double ClampedMass
    {
        get
        {
            if (Total == 0)
            {
                return 0;
            }
            long clamped = _underflow + _overflow;
            var firstInside = ExtensionSteps * BinsPerStep;
            var endInside = firstInside + (QMax - QMin + 1) * BinsPerStep;
            for (var i = 0; i < firstInside; i++)
            {
                clamped += _counts[i];
            }
            for (var i = endInside; i < _counts.Length; i++)
            {
                clamped += _counts[i];
            }
            return (double)clamped / Total;
        }
    }

    /// <summary>The fraction of values in the bin centred on the zero point (the value 0) of their own channel.</summary>
    public double ZeroBinMass => Total == 0 ? 0 : (double)_zeroBinCount / Total;

    /// <summary>
    /// A centred moving average over <see cref="SmoothingBins"/> bins (9 steps). At the ends the window is cut to the
    /// bins that exist and the average is taken over those (no padding with zeros, no wrap-around), so a flat input
    /// stays flat up to the edges.
    /// </summary>
    public static double[] Smooth(ReadOnlySpan<double> values, int window = SmoothingBins)
    {
        if (window < 1 || window % 2 == 0)
        {
            throw new SharpQuantException($"the smoothing window must be odd and positive, not {window}");
        }
        var prefix = new double[values.Length + 1];
        for (var i = 0; i < values.Length; i++)
        {
            prefix[i + 1] = prefix[i] + values[i];
        }
        var half = window / 2;
        var smoothed = new double[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            var lo = Math.Max(0, i - half);
            var hi = Math.Min(values.Length, i + half + 1);
            smoothed[i] = (prefix[hi] - prefix[lo]) / (hi - lo);
        }
        return smoothed;
    }

    /// <summary>The moving average of <see cref="Probabilities"/>.</summary>
    public double[] SmoothedProbabilities() => Smooth(Probabilities());

    /// <summary>
    /// The mass in each sub-bin position summed over all steps, for the offsets −2, −1, 0, +1, +2 (fifths of a step;
    /// entry <see cref="CentroidSubBin"/> is the centroid's own sub-bin). Sums to the mass inside the binned range.
    /// </summary>
    public double[] IntraBin() => IntraBin(Probabilities());

    /// <summary>Sums any per-bin series by sub-bin offset, as <see cref="IntraBin()"/> does for the probabilities.</summary>
    public static double[] IntraBin(ReadOnlySpan<double> perBin)
    {
        var sums = new double[BinsPerStep];
        for (var i = 0; i < perBin.Length; i++)
        {
            sums[i % BinsPerStep] += perBin[i];
        }
        return sums;
    }

    /// <summary>
    /// The sensitivity per bin: |sum of the gradients in the bin| divided by the total of those magnitudes (the values
    /// outside the binned range included), so it reads like a probability next to <see cref="Probabilities"/>. The
    /// magnitude of the signed sum is taken (not the sum of magnitudes): gradients that cancel within a bin do not
    /// move the output. All zeros when no gradient was added or all were zero.
    /// </summary>
    public double[] GradientMass()
    {
        var mass = new double[_gradients.Length];
        var total = Math.Abs(_gradientOutside);
        for (var i = 0; i < mass.Length; i++)
        {
            mass[i] = Math.Abs(_gradients[i]);
            total += mass[i];
        }
        if (total > 0)
        {
            TensorPrimitives.Divide(mass, total, mass);
        }
        return mass;
    }

    /// <summary>The moving average of <see cref="GradientMass"/>.</summary>
    public double[] SmoothedGradientMass() => Smooth(GradientMass());

    /// <summary>The intra-bin distribution of <see cref="GradientMass"/>.</summary>
    public double[] GradientIntraBin() => IntraBin(GradientMass());
}
