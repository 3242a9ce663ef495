namespace SharpQuant.Analysis;

/// <summary>
/// Per-layer sensitivity, most sensitive (lowest SQNR) first, with the whole-model baselines measured on the same
/// batches: every enabled quantizer on, and (when those modes were measured) all weights only or all activations only.
/// </summary>
public sealed record SensitivityTable(
    IReadOnlyList<LayerSensitivityRow> Rows,
    SensitivityModes Modes,
    long Samples,
    double AllQuantizedSqnrDb,
    double? AllWeightsSqnrDb,
    double? AllActivationsSqnrDb,
    int Configurations,
    TimeSpan Elapsed);
