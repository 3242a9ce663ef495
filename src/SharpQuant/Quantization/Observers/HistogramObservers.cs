namespace SharpQuant.Quantization.Observers;

/// <summary>Histogram-based observers (percentile, MSE, entropy).</summary>
public static class HistogramObservers
{
    public static IObserver Create(QuantSpec spec) =>
        throw new SharpQuantException($"the {spec.Observer} observer is not available yet");
}
