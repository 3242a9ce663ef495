namespace SharpQuant.Analysis;

/// <summary>Top-1 and top-k accuracy against integer class labels.</summary>
/// <param name="Top1Correct">Samples whose most probable class is the label.</param>
/// <param name="TopKCorrect">Samples whose label is among the <paramref name="K"/> most probable classes.</param>
public sealed record AccuracyReport(long Samples, long Top1Correct, long TopKCorrect, int K)
{
    public double Top1 => Samples == 0 ? double.NaN : (double)Top1Correct / Samples;
    public double TopK => Samples == 0 ? double.NaN : (double)TopKCorrect / Samples;
}
