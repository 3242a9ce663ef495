namespace SharpQuant.Analysis;

/// <summary>
/// How closely a model's outputs follow a reference model's outputs (usually the float model's) over the same
/// inputs. See <see cref="FidelityAccumulator"/> for the definitions.
/// </summary>
/// <param name="Samples">Samples compared (the first axis of every output batch).</param>
/// <param name="SampleSize">Values per sample (the output flattened after the batch axis).</param>
/// <param name="MeanCosine">Mean over samples of the cosine similarity of the flattened outputs.</param>
/// <param name="MinCosine">The worst sample's cosine similarity.</param>
/// <param name="SqnrDb">10·log10(Σ y² / Σ (y − ŷ)²) over all values; +∞ when the outputs are identical.</param>
/// <param name="Top1Agreements">
/// Samples whose arg-max (of the flattened output) is the same in both models; null when the outputs are not class
/// scores (<see cref="ModelOutput.IsClassScores"/>).
/// </param>
/// <param name="MeanKl">
/// Mean over samples of KL(reference ‖ candidate) of the per-sample probabilities, in nats; null when the outputs are
/// not class scores.
/// </param>
/// <param name="MaxAbsDiff">max |y − ŷ| over all values.</param>
/// <param name="ProbabilitySamples">Samples whose reference output already was a distribution (no softmax applied).</param>
public sealed record FidelityReport(
    long Samples,
    long SampleSize,
    double MeanCosine,
    double MinCosine,
    double SqnrDb,
    long? Top1Agreements,
    double? MeanKl,
    double MaxAbsDiff,
    long ProbabilitySamples)
{
    /// <summary>False when top-1 agreement and KL were left out because the outputs are not class scores.</summary>
    public bool ClassScores => Top1Agreements is not null;

    /// <summary>The fraction of samples whose top-1 class agrees (0 to 1); null when the outputs are not class scores.</summary>
    public double? Top1Agreement => Top1Agreements is not { } agreements ? null : Samples == 0 ? double.NaN : (double)agreements / Samples;
}
