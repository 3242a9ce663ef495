namespace SharpQuant.Analysis;

/// <summary>Which configurations <see cref="LayerSensitivity"/> measures per layer; each costs one session build and one pass over the batches per layer.</summary>
[Flags]
public enum SensitivityModes
{
    None = 0,

    /// <summary>Only the layer's weight quantizers on.</summary>
    Weights = 1,

    /// <summary>Only the layer's activation quantizers on.</summary>
    Activations = 2,

    /// <summary>The layer's weight and activation quantizers on.</summary>
    Both = 4,

    All = Weights | Activations | Both,
}
