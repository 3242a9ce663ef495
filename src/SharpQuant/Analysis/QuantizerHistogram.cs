using SharpQuant.Quantization;

namespace SharpQuant.Analysis;

/// <summary>A quantizer and the histogram of what it sees on its grid.</summary>
public sealed record QuantizerHistogram(Quantizer Quantizer, QuantGridHistogram Histogram)
{
    /// <summary>The layer (weights) or value (activations) the quantizer belongs to.</summary>
    public string Target => Quantizer.Target;
}
