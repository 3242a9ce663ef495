namespace SharpQuant.Quantization.Observers;

/// <summary>The running minimum and maximum (per channel for per-channel specs): PyTorch's MinMaxObserver.</summary>
public sealed class MinMaxObserver(QuantSpec spec) : IObserver
{
    private float[]? _min;
    private float[]? _max;

    public bool HasData => _min is not null;

    public void Observe(Tensor values)
    {
        var (min, max) = ChannelExtremes.Of(values, spec.Axis);
        if (_min is null || _max is null)
        {
            (_min, _max) = (min, max);
            return;
        }
        for (var c = 0; c < min.Length; c++)
        {
            _min[c] = Math.Min(_min[c], min[c]);
            _max[c] = Math.Max(_max[c], max[c]);
        }
    }

    public IReadOnlyList<(double Lo, double Hi)> Ranges() =>
        _min is null || _max is null ? throw new InvalidOperationException("the observer has seen no data") : _min.Select((m, c) => ((double)m, (double)_max[c])).ToArray();

    public void Reset() => (_min, _max) = (null, null);
}

/// <summary>
/// An exponential moving average of each batch's minimum and maximum, the first batch taken as is:
/// min ← min + c·(batch_min − min), with c the spec's averaging constant (PyTorch's MovingAverageMinMaxObserver).
/// </summary>
public sealed class MovingAverageMinMaxObserver(QuantSpec spec) : IObserver
{
    private double[]? _min;
    private double[]? _max;

    public bool HasData => _min is not null;

    public void Observe(Tensor values)
    {
        var (min, max) = ChannelExtremes.Of(values, spec.Axis);
        if (_min is null || _max is null)
        {
            _min = min.Select(v => (double)v).ToArray();
            _max = max.Select(v => (double)v).ToArray();
            return;
        }
        var c = spec.AveragingConstant;
        for (var i = 0; i < min.Length; i++)
        {
            _min[i] += c * (min[i] - _min[i]);
            _max[i] += c * (max[i] - _max[i]);
        }
    }

    public IReadOnlyList<(double Lo, double Hi)> Ranges() =>
        _min is null || _max is null ? throw new InvalidOperationException("the observer has seen no data") : _min.Select((m, c) => (m, _max[c])).ToArray();

    public void Reset() => (_min, _max) = (null, null);
}
