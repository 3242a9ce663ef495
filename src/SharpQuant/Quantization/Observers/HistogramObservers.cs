namespace SharpQuant.Quantization.Observers;

/// <summary>
/// Histogram-based observers (percentile, MSE, entropy): a <see cref="StreamingHistogram"/> per channel, and the
/// rule of <see cref="PercentileRange"/>, <see cref="MseRange"/> or <see cref="EntropyRange"/> to pick the range.
/// </summary>
public static class HistogramObservers
{
    public static IObserver Create(QuantSpec spec) => new HistogramObserver(spec);
}
