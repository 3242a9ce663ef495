namespace SharpQuant.Passes;

/// <summary>
/// The statistics of a BatchNormalization that was folded into a layer: per output channel γ (scale), β (shift),
/// μ (running mean) and σ² (running variance), and ε. Data-free steps (bias absorption, analytic bias correction,
/// activation ranges) read them from <see cref="Node.Metadata"/> under <see cref="MetadataKey"/>.
/// The pre-activation of channel c is modelled as N(β_c, γ_c²).
/// </summary>
public sealed record BatchNormStats(string ModuleName, float[] Gamma, float[] Beta, float[] Mean, float[] Variance, float Epsilon)
{
    public const string MetadataKey = "sharpquant.batchnorm";

    public static BatchNormStats? Of(Node node) => node.Metadata.GetValueOrDefault(MetadataKey) as BatchNormStats;

    /// <summary>Multiplies the per-channel shift and spread after the layer's output channels were scaled (by equalization).</summary>
    public BatchNormStats ScaledBy(IReadOnlyList<double> factors) => this with
    {
        Gamma = Gamma.Select((g, c) => (float)(g * factors[c])).ToArray(),
        Beta = Beta.Select((b, c) => (float)(b * factors[c])).ToArray(),
    };

    /// <summary>Shifts β after a constant was taken out of (or added to) the layer's output.</summary>
    public BatchNormStats ShiftedBy(IReadOnlyList<double> shift) => this with
    {
        Beta = Beta.Select((b, c) => (float)(b + shift[c])).ToArray(),
    };
}
