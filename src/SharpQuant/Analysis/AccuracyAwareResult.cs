using SharpQuant.Quantization;

namespace SharpQuant.Analysis;

/// <summary>
/// The outcome of the accuracy-aware mode: every step measured, the layers kept in float by the last one and
/// their quantizers. <see cref="Met"/> is false when even the last step (every candidate layer in float) misses.
/// </summary>
public sealed record AccuracyAwareResult(
    QualityTarget Target,
    IReadOnlyList<AccuracyAwareStep> Steps,
    IReadOnlyList<string> FloatQuantizers,
    double? FloatTop1)
{
    public bool Met => Steps[^1].Met;

    public IReadOnlyList<string> FloatLayers => Steps[^1].FloatLayers;

    /// <summary>Turns fake quantization off for the quantizers of the layers kept in float (for example before an export).</summary>
    public void ApplyTo(QuantSim sim)
    {
        foreach (var name in FloatQuantizers)
        {
            sim[name].FakeQuantEnabled = false;
        }
    }
}
