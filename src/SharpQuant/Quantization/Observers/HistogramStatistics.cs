namespace SharpQuant.Quantization.Observers;

/// <summary>Quantiles and threshold ranges read from a <see cref="StreamingHistogram"/>, shared by the range rules.</summary>
internal static class HistogramStatistics
{
    /// <summary>
    /// The q-quantile (q in [0, 1]) of the values in <paramref name="counts"/> (bins of <paramref name="width"/>
    /// from <paramref name="lo"/>), interpolating linearly inside the bin where the cumulative count reaches q·total,
    /// as if that bin's values were spread evenly over it.
    /// </summary>
    public static double Quantile(ReadOnlySpan<long> counts, double lo, double width, double q)
    {
        long total = 0;
        foreach (var c in counts)
        {
            total += c;
        }
        var target = q * total;
        double cumulative = 0;
        var lastNonEmpty = -1;
        for (var i = 0; i < counts.Length; i++)
        {
            var c = counts[i];
            if (c == 0)
            {
                continue;
            }
            if (cumulative + c >= target)
            {
                return lo + (i + (target - cumulative) / c) * width;
            }
            cumulative += c;
            lastNonEmpty = i;
        }
        // Only reached through rounding of q·total: the upper edge of the last non-empty bin.
        return lo + (lastNonEmpty + 1) * width;
    }

    /// <summary>
    /// The range [−t, t] clipped to the observed extremes. Its symmetric scale is still t (for t ≤ max |x|), and
    /// one-signed data keep their one-signed range, so affine specs do not waste half their grid.
    /// </summary>
    public static (double Lo, double Hi) ClipToThreshold(StreamingHistogram histogram, double threshold) =>
        (Math.Max(-threshold, histogram.Min), Math.Min(threshold, histogram.Max));
}
