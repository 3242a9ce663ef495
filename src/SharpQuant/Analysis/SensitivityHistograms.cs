using SharpQuant.Autodiff;

namespace SharpQuant.Analysis;

/// <summary>
/// What <see cref="SensitivityAnalysis.Run"/> measured: one histogram per selected quantizer, each bin holding the
/// count of values and the signed sum of their gradients (<see cref="QuantGridHistogram.GradientSums"/>).
/// </summary>
/// <param name="Weights">Weight quantizers in graph order: each weight binned once (integer units), with its gradient summed over every batch.</param>
/// <param name="Activations">Activation quantizers in graph order: the input of each, binned batch after batch (value units), with its gradients.</param>
/// <param name="Seed">How the model output was differentiated.</param>
/// <param name="Samples">Samples (images) run through the model.</param>
public sealed record SensitivityHistograms(
    IReadOnlyList<QuantizerHistogram> Weights,
    IReadOnlyList<QuantizerHistogram> Activations,
    SeedKind Seed,
    long Samples)
{
    /// <summary>Every histogram: weights first, then activations.</summary>
    public IEnumerable<QuantizerHistogram> All => Weights.Concat(Activations);

    /// <summary>What was differentiated, for captions: "the sum of the model's outputs" or "each sample's top-1 output".</summary>
    public string DescribeTarget() => DescribeTarget(Seed);

    public static string DescribeTarget(SeedKind seed) => seed switch
    {
        SeedKind.Sum => "the sum of the model's outputs",
        SeedKind.Top1 => "each sample's largest (top-1) output",
        _ => throw new ArgumentOutOfRangeException(nameof(seed), seed, null),
    };

    /// <summary>
    /// Which gradient a bin sums, in one sentence (the figures and the report say it): the gradient with respect to the
    /// quantizer's float input, through the straight-through estimator, so a value the quantizer clamps contributes 0.
    /// </summary>
    public string DescribeGradient() =>
        $"gradient of {DescribeTarget()} with respect to each quantizer's float input x, passed straight through the rounding " +
        "(values the quantizer clamps get 0), summed signed per bin";
}
