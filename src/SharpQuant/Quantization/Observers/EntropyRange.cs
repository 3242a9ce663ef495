namespace SharpQuant.Quantization.Observers;

/// <summary>
/// The entropy rule: TensorRT's KL-divergence calibration (Migacz, "8-bit Inference with TensorRT", GTC 2017),
/// on the histogram of |x| (for non-negative data that is the histogram over [0, max]).
/// <para>
/// For each candidate threshold T = i·w (i bins of |x|): P is the first i bins with the outliers (the mass beyond T)
/// added to the last one; Q quantizes the same i bins, without the outliers, into L levels (L groups of about
/// i/L bins) and expands each level back by spreading its mass evenly over the group's bins where P is not zero.
/// The T with the least KL(P‖Q) wins; the range is ±T clipped to the observed extremes.
/// </para>
/// <para>
/// Q is built from the clipped bins <em>without</em> the outliers, as in the original TensorRT method: clipping then
/// costs KL wherever the clipped mass is not matched by mass inside the last level. Building Q from P itself (with
/// the outliers) makes clipping nearly free: at i = L every level is one bin, Q equals P and the divergence is 0
/// whatever was clipped, so the smallest candidate would always win.
/// </para>
/// <para>
/// Candidates need i ≥ L: below that the grid is finer than the histogram, which cannot judge it (TensorRT likewise
/// starts at bin 128 of 2048). So the threshold is never below L·w, i.e. about L / (occupied bins) of max |x|.
/// </para>
/// <para>
/// L is the number of grid steps the candidate's own grid puts over [0, T] (T / scale from
/// <see cref="QuantMath.FromRange"/>): 128 for int8 symmetric (half the levels, since the histogram is of |x|),
/// 255 for uint8 affine on non-negative data, in between for affine data of both signs.
/// </para>
/// </summary>
internal static class EntropyRange
{
    /// <summary>
    /// Count given to a bin where Q is empty and P is not, so the divergence stays finite but large
    /// (MXNet's _smooth_distribution uses the same 0.0001, on counts).
    /// </summary>
    private const double SmoothingCount = 1e-4;

    public static (double Lo, double Hi) Choose(StreamingHistogram histogram, QuantSpec spec)
    {
        if (!histogram.HasRange || histogram.MaxAbs == 0)
        {
            return (0, 0);
        }
        var counts = histogram.MagnitudeCounts();
        var occupied = counts.Length;
        while (occupied > 0 && counts[occupied - 1] == 0)
        {
            occupied--;
        }
        if (occupied > 1)
        {
            // Bin 0 holds every exact zero (ReLU outputs, padding): a spike that would make the divergence favour
            // thresholds whose first level is narrowest, i.e. clip hard. NVIDIA's pytorch-quantization gives bin 0
            // its neighbour's count for the same reason.
            counts[0] = counts[1];
        }

        // Prefix sums over the bins: counts, c·ln c and non-empty bins, so each level of each candidate costs O(1).
        var sum = new double[occupied + 1];
        var sumCLogC = new double[occupied + 1];
        var nonEmpty = new int[occupied + 1];
        for (var j = 0; j < occupied; j++)
        {
            double c = counts[j];
            sum[j + 1] = sum[j] + c;
            sumCLogC[j + 1] = sumCLogC[j] + (c > 0 ? c * Math.Log(c) : 0);
            nonEmpty[j + 1] = nonEmpty[j] + (c > 0 ? 1 : 0);
        }
        var total = sum[occupied];
        var width = histogram.BinWidth;

        var bestThreshold = histogram.MaxAbs;
        var best = double.PositiveInfinity;
        for (var i = occupied; i >= 1; i--)
        {
            var threshold = i == occupied ? histogram.MaxAbs : i * width;
            var levels = Levels(histogram, spec, threshold);
            if (levels > i)
            {
                // The grid is finer than the histogram here: the histogram cannot judge this threshold.
                continue;
            }
            var divergence = Divergence(counts, sum, sumCLogC, nonEmpty, i, levels, total);
            // Scanning down from no clipping, a tie keeps the larger threshold.
            if (divergence < best)
            {
                (best, bestThreshold) = (divergence, threshold);
            }
        }
        return HistogramStatistics.ClipToThreshold(histogram, bestThreshold);
    }

    /// <summary>Grid steps over [0, T] for the range the threshold T stands for.</summary>
    private static int Levels(StreamingHistogram histogram, QuantSpec spec, double threshold)
    {
        var (lo, hi) = HistogramStatistics.ClipToThreshold(histogram, threshold);
        var (scale, _) = QuantMath.FromRange(lo, hi, spec);
        return Math.Max(1, (int)Math.Round(threshold / scale));
    }

    /// <summary>KL(P‖Q)·total for the first <paramref name="bins"/> bins quantized into <paramref name="levels"/> levels.</summary>
    private static double Divergence(long[] counts, double[] sum, double[] sumCLogC, int[] nonEmpty, int bins, int levels, double total)
    {
        var outliers = total - sum[bins];
        var edge = bins - 1;
        double edgeCount = counts[edge];
        var clippedEdge = edgeCount + outliers;
        // Q's mass is rescaled from total − outliers to total, so P and Q are compared as distributions.
        var rescale = total / sum[bins];
        double divergence = 0;
        for (var g = 0; g < levels; g++)
        {
            var start = (int)((long)g * bins / levels);
            var stop = (int)((long)(g + 1) * bins / levels);
            var qMass = sum[stop] - sum[start];
            var pMass = qMass;
            var pLogP = sumCLogC[stop] - sumCLogC[start];
            var support = nonEmpty[stop] - nonEmpty[start];
            if (stop == bins && outliers > 0)
            {
                pMass += outliers;
                pLogP += clippedEdge * Math.Log(clippedEdge) - (edgeCount > 0 ? edgeCount * Math.Log(edgeCount) : 0);
                support += edgeCount > 0 ? 0 : 1;
            }
            if (pMass == 0)
            {
                continue;
            }
            var q = qMass > 0 ? qMass / support * rescale : SmoothingCount;
            // Σ over the group's non-empty bins of p·ln(p/q), with q the same for all of them.
            divergence += pLogP - pMass * Math.Log(q);
        }
        return divergence;
    }
}
