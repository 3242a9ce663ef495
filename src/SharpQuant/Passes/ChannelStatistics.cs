namespace SharpQuant.Passes;

/// <summary>Per-channel minimum, maximum and sum of squares of a weight (NaN in a channel makes its min and max NaN).</summary>
public sealed record ChannelStatistics(float[] Min, float[] Max, double[] SquaredNorms)
{
    public double[] Ranges(RangeMode mode)
    {
        var ranges = new double[Min.Length];
        for (var c = 0; c < ranges.Length; c++)
        {
            ranges[c] = mode == RangeMode.MaxAbs
                ? Math.Max(Math.Abs((double)Min[c]), Math.Abs((double)Max[c]))
                : (double)Max[c] - Min[c];
        }
        return ranges;
    }
}
