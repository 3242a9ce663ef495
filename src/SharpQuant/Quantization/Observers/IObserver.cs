namespace SharpQuant.Quantization.Observers;

/// <summary>
/// Watches the values reaching a quantizer and proposes a range per channel (one range for per-tensor specs).
/// Observers keep bounded state (running extremes, fixed-size histograms) however much data they see.
/// </summary>
public interface IObserver
{
    /// <summary>Takes one batch of values; per-channel observers read the channel along the spec's axis.</summary>
    void Observe(Tensor values);

    /// <summary>True once at least one batch was observed.</summary>
    bool HasData { get; }

    /// <summary>The range to quantize, per channel.</summary>
    IReadOnlyList<(double Lo, double Hi)> Ranges();

    /// <summary>Forgets everything observed.</summary>
    void Reset();
}
