namespace SharpQuant.Quantization.Observers;

/// <summary>
/// The non-empty bins of a histogram, and the expected squared quantization error of their values under a grid,
/// each bin's values taken as spread evenly over the bin. Skipping empty bins keeps each evaluation proportional
/// to the bins the data occupy (few for a small weight channel).
/// </summary>
internal sealed class OccupiedBins
{
    private readonly int[] _bins;
    private readonly double[] _counts;
    private readonly int _zeroBin;
    private readonly double _width;

    private OccupiedBins(int[] bins, double[] counts, int zeroBin, double width) =>
        (_bins, _counts, _zeroBin, _width) = (bins, counts, zeroBin, width);

    public static OccupiedBins Of(StreamingHistogram histogram)
    {
        var counts = histogram.Counts;
        var occupied = 0;
        foreach (var c in counts)
        {
            occupied += c > 0 ? 1 : 0;
        }
        var bins = new int[occupied];
        var weights = new double[occupied];
        var k = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            if (counts[i] > 0)
            {
                bins[k] = i;
                weights[k++] = counts[i];
            }
        }
        return new OccupiedBins(bins, weights, histogram.ZeroBin, histogram.BinWidth);
    }

    /// <summary>Σ over values of (x − x̂)², for the grid <see cref="QuantMath.FromRange"/> makes of [lo, hi] under <paramref name="spec"/>.</summary>
    public double ExpectedSquaredError(double lo, double hi, QuantSpec spec)
    {
        var (scale, zeroPoint) = QuantMath.FromRange(lo, hi, spec);
        var grid = new GridError(scale, (spec.QMin - zeroPoint) * (double)scale, (spec.QMax - zeroPoint) * (double)scale);
        double total = 0;
        // Neighbouring occupied bins share an edge: reuse Φ there, which halves the work on dense histograms.
        var previous = int.MinValue;
        double atUpper = 0;
        for (var k = 0; k < _counts.Length; k++)
        {
            var bin = _bins[k];
            var atLower = bin == previous + 1 ? atUpper : grid.Antiderivative((bin - _zeroBin) * _width);
            atUpper = grid.Antiderivative((bin + 1 - _zeroBin) * _width);
            previous = bin;
            total += _counts[k] * (atUpper - atLower);
        }
        return total / _width;
    }

    /// <summary>
    /// An antiderivative Φ of the squared error e(x) = (x − x̂(x))² of a grid with step s between the
    /// representable values rmin and rmax (multiples of s, since the zero point is an integer), so that
    /// ∫ e over [u, v] = Φ(v) − Φ(u). Inside [rmin, rmax], e is periodic, (x − s·round(x/s))², with integral s³/12
    /// per step; outside it is the clipping error (x − rmin)² or (x − rmax)². Ties in rounding do not matter to an
    /// integral.
    /// </summary>
    private readonly struct GridError
    {
        private readonly double _step;
        private readonly double _min;
        private readonly double _max;
        private readonly double _atMin;
        private readonly double _atMax;

        public GridError(double step, double min, double max)
        {
            (_step, _min, _max) = (step, min, max);
            _atMin = Periodic(min);
            _atMax = Periodic(max);
        }

        public double Antiderivative(double x)
        {
            if (x <= _min)
            {
                var d = x - _min;
                return _atMin + d * d * d / 3;
            }
            if (x >= _max)
            {
                var d = x - _max;
                return _atMax + d * d * d / 3;
            }
            return Periodic(x);
        }

        // With x = s·(k + d), k = round(x/s), |d| ≤ 1/2: k whole steps of s³/12 each, plus ∫ from −s/2 to d·s of t² dt.
        private double Periodic(double x)
        {
            var t = x / _step;
            var k = Math.Round(t);
            var d = t - k;
            var s3 = _step * _step * _step;
            return s3 * (k / 12 + (d * d * d + 0.125) / 3);
        }
    }
}
