namespace SharpQuant.Analysis;

/// <summary>
/// The five-number summary of one output channel of a weight, as matplotlib's boxplot draws it: quartiles by linear
/// interpolation between order statistics, whiskers at the most extreme values within 1.5 IQR of the box (Tukey),
/// and the true minimum and maximum (the points beyond the whiskers are the outliers).
/// </summary>
public sealed record ChannelBox(
    int Channel,
    int Count,
    double Min,
    double WhiskerLow,
    double Q1,
    double Median,
    double Q3,
    double WhiskerHigh,
    double Max)
{
    public double Iqr => Q3 - Q1;

    /// <summary>Values beyond the whiskers exist (matplotlib's fliers).</summary>
    public bool HasOutliers => Min < WhiskerLow || Max > WhiskerHigh;
}
