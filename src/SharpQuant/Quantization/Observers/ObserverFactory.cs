namespace SharpQuant.Quantization.Observers;

/// <summary>Creates the observer a spec asks for.</summary>
public static class ObserverFactory
{
    public static IObserver Create(QuantSpec spec) => spec.Observer switch
    {
        ObserverKind.MinMax => new MinMaxObserver(spec),
        ObserverKind.MovingAverageMinMax => new MovingAverageMinMaxObserver(spec),
        ObserverKind.Percentile or ObserverKind.Mse or ObserverKind.Entropy => HistogramObservers.Create(spec),
        _ => throw new SharpQuantException($"unknown observer {spec.Observer}"),
    };
}
