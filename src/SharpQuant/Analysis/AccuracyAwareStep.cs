namespace SharpQuant.Analysis;

/// <summary>
/// One step of the accuracy-aware mode: the whole model quantized except <see cref="FloatLayers"/>, and what it measured.
/// </summary>
/// <param name="FloatLayer">The layer this step kept in float; null for the first step (everything quantized).</param>
/// <param name="FloatLayers">Every layer in float at this step, in the order they were taken out.</param>
/// <param name="SqnrDb">Model-output SQNR against the float model.</param>
/// <param name="Top1">Top-1 accuracy (0 to 1) when labels were given.</param>
/// <param name="AccuracyDropPoints">Float top-1 minus this top-1, in percentage points, when labels were given.</param>
/// <param name="Met">Whether this configuration meets the target.</param>
public sealed record AccuracyAwareStep(
    string? FloatLayer,
    IReadOnlyList<string> FloatLayers,
    double SqnrDb,
    double? Top1,
    double? AccuracyDropPoints,
    bool Met);
