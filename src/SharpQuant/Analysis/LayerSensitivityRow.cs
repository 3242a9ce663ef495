namespace SharpQuant.Analysis;

/// <summary>
/// The model-output SQNR (dB, against the float model) with only this layer quantized, per mode. Null where the
/// mode was not asked for or the layer has nothing of that kind (an Add has no weights).
/// </summary>
public sealed record LayerSensitivityRow(
    string Layer,
    IReadOnlyList<string> Quantizers,
    double? WeightsSqnrDb,
    double? ActivationsSqnrDb,
    double? BothSqnrDb)
{
    /// <summary>
    /// What the table is sorted by (lower is more sensitive): the "both" SQNR, else the worst measured mode, else +∞.
    /// A layer with only weights or only activations has its one kind as "both".
    /// </summary>
    public double SortKey => BothSqnrDb ?? new[] { WeightsSqnrDb, ActivationsSqnrDb }.Where(v => v.HasValue).Select(v => v!.Value).DefaultIfEmpty(double.PositiveInfinity).Min();
}
