namespace SharpQuant.Analysis;

/// <summary>
/// What the accuracy-aware mode must reach: a minimum model-output SQNR against the float model, a maximum top-1
/// accuracy drop in percentage points (needs labels), or both.
/// </summary>
public sealed record QualityTarget(double? MinSqnrDb, double? MaxAccuracyDropPoints)
{
    public static QualityTarget Sqnr(double minDb) => new(minDb, null);

    public static QualityTarget AccuracyDrop(double maxPoints) => new(null, maxPoints);

    public QualityTarget Validated()
    {
        if (MinSqnrDb is null && MaxAccuracyDropPoints is null)
        {
            throw new SharpQuantException("an accuracy-aware target needs a minimum SQNR or a maximum accuracy drop");
        }
        if (MinSqnrDb is { } db && double.IsNaN(db))
        {
            throw new SharpQuantException("the target SQNR is not a number");
        }
        if (MaxAccuracyDropPoints is { } p && (double.IsNaN(p) || p < 0 || p > 100))
        {
            throw new SharpQuantException($"the maximum accuracy drop must be 0 to 100 points, not {p}");
        }
        return this;
    }

    /// <summary>Whether a measured configuration meets the target; an accuracy drop target needs <paramref name="accuracyDropPoints"/>.</summary>
    public bool IsMetBy(double sqnrDb, double? accuracyDropPoints) =>
        (MinSqnrDb is not { } min || sqnrDb >= min)
        && (MaxAccuracyDropPoints is not { } max || accuracyDropPoints is { } drop && drop <= max);

    public string Describe() => string.Join(" and ", new[]
    {
        MinSqnrDb is { } db ? $"SQNR ≥ {db:F2} dB" : null,
        MaxAccuracyDropPoints is { } p ? $"accuracy drop ≤ {p:F2} points" : null,
    }.Where(s => s is not null));
}
