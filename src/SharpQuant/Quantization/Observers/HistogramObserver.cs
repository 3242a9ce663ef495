namespace SharpQuant.Quantization.Observers;

/// <summary>
/// Feeds every value into a <see cref="StreamingHistogram"/> and picks the range from it with the spec's rule
/// (percentile, MSE or entropy).
/// <para>
/// Per-channel specs keep one histogram per channel. That is the same code path as per tensor, so a channel's
/// range is chosen exactly as a tensor's would be; weights are small, and activations are rarely per channel,
/// so the memory (channels × bins × 16 bytes) stays reasonable.
/// </para>
/// </summary>
public sealed class HistogramObserver : IObserver
{
    private readonly QuantSpec _spec;
    private readonly Func<StreamingHistogram, QuantSpec, (double Lo, double Hi)> _choose;
    private StreamingHistogram[]? _histograms;

    public HistogramObserver(QuantSpec spec)
    {
        _spec = spec.Validated();
        _choose = spec.Observer switch
        {
            ObserverKind.Percentile => PercentileRange.Choose,
            ObserverKind.Mse => MseRange.Choose,
            ObserverKind.Entropy => EntropyRange.Choose,
            _ => throw new SharpQuantException($"the {spec.Observer} observer does not use a histogram"),
        };
    }

    public bool HasData => _histograms is not null && _histograms.Any(h => h.Total > 0);

    /// <summary>The histograms, one per channel (one for per-tensor specs); empty before the first batch.</summary>
    public IReadOnlyList<StreamingHistogram> Histograms => _histograms ?? [];

    public void Observe(Tensor values)
    {
        var (outer, channels, inner) = QuantMath.ChannelLayout(values.Shape, _spec.Axis);
        if (_histograms is null)
        {
            _histograms = new StreamingHistogram[channels];
            for (var c = 0; c < channels; c++)
            {
                _histograms[c] = new StreamingHistogram(_spec.HistogramBins);
            }
        }
        else if (_histograms.Length != channels)
        {
            throw new SharpQuantException($"the observer saw {_histograms.Length} channels before and {channels} now (shape {Shapes.Format(values.Shape)}, axis {_spec.Axis})");
        }
        var data = values.Floats;
        for (long o = 0; o < outer; o++)
        {
            for (var c = 0; c < channels; c++)
            {
                _histograms[c].Add(data.Slice((int)((o * channels + c) * inner), (int)inner));
            }
        }
    }

    public IReadOnlyList<(double Lo, double Hi)> Ranges()
    {
        if (_histograms is null || !HasData)
        {
            throw new InvalidOperationException("the observer has seen no data");
        }
        var ranges = new (double Lo, double Hi)[_histograms.Length];
        for (var c = 0; c < ranges.Length; c++)
        {
            // A channel that never saw a value (an empty inner extent) gets the empty range; FromRange gives it scale eps.
            ranges[c] = _histograms[c].Total == 0 ? (0, 0) : _choose(_histograms[c], _spec);
        }
        return ranges;
    }

    public void Reset() => _histograms = null;
}
