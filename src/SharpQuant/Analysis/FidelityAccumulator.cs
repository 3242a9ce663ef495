namespace SharpQuant.Analysis;

/// <summary>
/// Accumulates the fidelity of a candidate model's outputs to a reference model's outputs, batch by batch, in
/// constant memory. Each output batch is split along its first axis into samples, and each sample is flattened:
/// <list type="bullet">
/// <item>cosine similarity per sample (1 when both are zero vectors, 0 when only one is), averaged;</item>
/// <item>SQNR = 10·log10(Σ y² / Σ (y − ŷ)²) over every value (+∞ when identical, −∞ when the reference is all zeros and the candidate is not);</item>
/// <item>top-1 agreement: the same arg-max of the flattened sample (the first index wins ties), so class scores of
/// shape [N, C] and [N, C, 1, 1] are treated alike;</item>
/// <item>KL(P ‖ Q) per sample, averaged, where P and Q are the per-sample distributions: the reference values as
/// they are when they already are a distribution (<see cref="Probabilities.IsDistribution"/>; the candidate is
/// then clipped at 0 and renormalized), else the softmax of each;</item>
/// <item>max |y − ŷ|.</item>
/// </list>
/// Sums are taken per sample and then added in sample order, so any split into batches gives the same report.
/// Top-1 agreement and KL compare class scores; an accumulator given a <see cref="ModelOutput"/> that is not class
/// scores (an embedding, a feature map) leaves them out of its report, where the arg-max of 512 features and a
/// softmax over them would be numbers without a meaning.
/// </summary>
public sealed class FidelityAccumulator
{
    /// <summary>
    /// The smallest candidate probability the KL divergence uses when the outputs are probabilities: a quantized
    /// softmax head can round a probability to 0, and log 0 would make one sample's KL infinite. 1e-7 is the
    /// clipping epsilon of Keras's KLDivergence.
    /// </summary>
    public const double ProbabilityFloor = 1e-7;

    private long _sampleSize = -1;
    private long _samples;
    private double _cosineSum;
    private double _minCosine = double.PositiveInfinity;
    private double _signal;
    private double _noise;
    private long _top1Agreements;
    private double _klSum;
    private double _maxAbsDiff;
    private long _probabilitySamples;
    private double[] _logP = [];
    private double[] _logQ = [];

    /// <summary>For outputs taken to be class scores (logits, or probabilities where they are a distribution), as the accumulator always did.</summary>
    public FidelityAccumulator()
    {
    }

    /// <summary>For the output of a known model: top-1 agreement and KL are reported only when <paramref name="output"/> is class scores.</summary>
    public FidelityAccumulator(ModelOutput output)
    {
        Output = output;
    }

    public long Samples => _samples;

    /// <summary>
    /// The output the samples come from, with the first batch's shape filling in what the graph leaves undeclared
    /// (<see cref="ModelOutput.Observe"/>); null for an accumulator made without one.
    /// </summary>
    public ModelOutput? Output { get; private set; }

    private bool ClassScores => Output?.IsClassScores ?? true;

    /// <summary>Adds one batch of outputs: both tensors float32 with the same shape, the first axis the batch.</summary>
    public void Add(Tensor reference, Tensor candidate)
    {
        if (reference.ElementType != ElementType.Float || candidate.ElementType != ElementType.Float)
        {
            throw new SharpQuantException($"fidelity compares float32 outputs; got {reference.ElementType.DisplayName()} and {candidate.ElementType.DisplayName()}");
        }
        if (!reference.Shape.SequenceEqual(candidate.Shape))
        {
            throw new SharpQuantException($"the candidate output has shape {Shapes.Format(candidate.Shape)}, the reference output {Shapes.Format(reference.Shape)}");
        }
        if (_samples == 0 && Output is { } output)
        {
            Output = output.Observe(reference.Shape);
        }
        var samples = reference.Rank == 0 ? 1 : reference.Shape[0];
        if (samples == 0)
        {
            return;
        }
        var size = reference.ElementCount / samples;
        var r = reference.Floats;
        var c = candidate.Floats;
        for (long n = 0; n < samples; n++)
        {
            Add(r.Slice((int)(n * size), (int)size), c.Slice((int)(n * size), (int)size));
        }
    }

    /// <summary>Adds one sample (a flattened output). Every sample must have the same size.</summary>
    public void Add(ReadOnlySpan<float> reference, ReadOnlySpan<float> candidate)
    {
        if (reference.Length != candidate.Length)
        {
            throw new SharpQuantException($"the candidate sample has {candidate.Length} values, the reference sample {reference.Length}");
        }
        if (_sampleSize >= 0 && reference.Length != _sampleSize)
        {
            throw new SharpQuantException($"a sample of {reference.Length} values follows samples of {_sampleSize} values");
        }
        _sampleSize = reference.Length;

        double dot = 0, refNorm = 0, candNorm = 0, noise = 0, maxAbs = 0;
        int refArgMax = 0, candArgMax = 0;
        for (var i = 0; i < reference.Length; i++)
        {
            double y = reference[i], yHat = candidate[i], d = y - yHat;
            dot += y * yHat;
            refNorm += y * y;
            candNorm += yHat * yHat;
            noise += d * d;
            maxAbs = Math.Max(maxAbs, Math.Abs(d));
            refArgMax = reference[i] > reference[refArgMax] ? i : refArgMax;
            candArgMax = candidate[i] > candidate[candArgMax] ? i : candArgMax;
        }
        var cosine = refNorm == 0 && candNorm == 0 ? 1.0
            : refNorm == 0 || candNorm == 0 ? 0.0
            : Math.Clamp(dot / Math.Sqrt(refNorm * candNorm), -1.0, 1.0);

        _samples++;
        _cosineSum += cosine;
        _minCosine = Math.Min(_minCosine, cosine);
        _signal += refNorm;
        _noise += noise;
        _maxAbsDiff = Math.Max(_maxAbsDiff, maxAbs);
        _top1Agreements += refArgMax == candArgMax ? 1 : 0;
        // An embedding's softmax is no distribution anyone reads: skipped, as the report leaves KL out.
        _klSum += ClassScores ? KlDivergence(reference, candidate) : 0;
    }

    public FidelityReport Report()
    {
        if (_samples == 0)
        {
            return new FidelityReport(0, 0, double.NaN, double.NaN, double.NaN, ClassScores ? 0 : null, ClassScores ? double.NaN : null, double.NaN, 0);
        }
        // Identical outputs have no noise: the ratio is infinite, and so is the SQNR (also when both are all zeros).
        var sqnr = _noise == 0 ? double.PositiveInfinity : 10 * Math.Log10(_signal / _noise);
        return new FidelityReport(_samples, _sampleSize, _cosineSum / _samples, _minCosine, sqnr,
            ClassScores ? _top1Agreements : null, ClassScores ? _klSum / _samples : null, _maxAbsDiff, _probabilitySamples);
    }

    private double KlDivergence(ReadOnlySpan<float> reference, ReadOnlySpan<float> candidate)
    {
        if (_logP.Length != reference.Length)
        {
            _logP = new double[reference.Length];
            _logQ = new double[reference.Length];
        }
        double kl = 0;
        if (Probabilities.IsDistribution(reference))
        {
            _probabilitySamples++;
            double pSum = 0, qSum = 0;
            for (var i = 0; i < reference.Length; i++)
            {
                pSum += reference[i];
                qSum += Math.Max(0f, candidate[i]);
            }
            for (var i = 0; i < reference.Length; i++)
            {
                var p = reference[i] / pSum;
                if (p > 0)
                {
                    var q = qSum > 0 ? Math.Max(0f, candidate[i]) / qSum : 0;
                    kl += p * (Math.Log(p) - Math.Log(Math.Max(q, ProbabilityFloor)));
                }
            }
            // The floor lifts a candidate probability below it above the reference's, which makes its term negative:
            // equal distributions with probabilities under 1e-7 summed to −1e-8. KL is never below 0.
            return Math.Max(0, kl);
        }
        Probabilities.LogSoftmax(reference, _logP);
        Probabilities.LogSoftmax(candidate, _logQ);
        for (var i = 0; i < reference.Length; i++)
        {
            kl += Math.Exp(_logP[i]) * (_logP[i] - _logQ[i]);
        }
        // Rounding can leave a tiny negative sum for equal distributions; KL is never below 0.
        return Math.Max(0, kl);
    }
}
