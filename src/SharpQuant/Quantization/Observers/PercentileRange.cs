namespace SharpQuant.Quantization.Observers;

/// <summary>
/// The percentile rule. Symmetric specs: T = the p-th percentile of |x| (clipped to max |x|), range ±T clipped to
/// the observed extremes. Affine specs: the (100 − p)-th and p-th percentiles of x. Percentile 100 gives min-max.
/// </summary>
internal static class PercentileRange
{
    public static (double Lo, double Hi) Choose(StreamingHistogram histogram, QuantSpec spec)
    {
        if (!histogram.HasRange)
        {
            return (0, 0);
        }
        var p = spec.Percentile / 100;
        if (spec.Scheme == QuantScheme.Affine)
        {
            var lo = HistogramStatistics.Quantile(histogram.Counts, histogram.Lo, histogram.BinWidth, 1 - p);
            var hi = HistogramStatistics.Quantile(histogram.Counts, histogram.Lo, histogram.BinWidth, p);
            return (Math.Clamp(lo, histogram.Min, histogram.Max), Math.Clamp(hi, histogram.Min, histogram.Max));
        }
        var threshold = HistogramStatistics.Quantile(histogram.MagnitudeCounts(), 0, histogram.BinWidth, p);
        return HistogramStatistics.ClipToThreshold(histogram, Math.Min(threshold, histogram.MaxAbs));
    }
}
