namespace SharpQuant.Analysis;

/// <summary>
/// Per-sample probability distributions from model outputs: outputs that already are probabilities (a softmax
/// head) are taken as they are, anything else (logits, features) goes through a softmax. Computed in double so
/// that 1000-class logits far apart still give exact log-probabilities.
/// </summary>
public static class Probabilities
{
    /// <summary>
    /// How far from 1 the sum of a sample may be and still count as a distribution. A float32 softmax over 1000
    /// classes sums to 1 within about 1e-6; 1e-3 leaves room for heads that renormalize or round, while logits
    /// that happen to be non-negative almost never sum to 1 that closely.
    /// </summary>
    public const double SumTolerance = 1e-3;

    /// <summary>True when every value is finite and non-negative and the values sum to 1 within <see cref="SumTolerance"/>.</summary>
    public static bool IsDistribution(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty)
        {
            return false;
        }
        double sum = 0;
        foreach (var v in values)
        {
            if (!(v >= 0) || float.IsPositiveInfinity(v))
            {
                return false;
            }
            sum += v;
        }
        return Math.Abs(sum - 1) <= SumTolerance;
    }

    /// <summary>log softmax(values), written into <paramref name="destination"/> (same length).</summary>
    public static void LogSoftmax(ReadOnlySpan<float> values, Span<double> destination)
    {
        if (destination.Length != values.Length)
        {
            throw new ArgumentException($"destination holds {destination.Length} values, the input {values.Length}", nameof(destination));
        }
        double max = double.NegativeInfinity;
        foreach (var v in values)
        {
            max = Math.Max(max, v);
        }
        // Subtracting the maximum keeps exp() from overflowing; the log of the sum then restores the offset.
        double sum = 0;
        foreach (var v in values)
        {
            sum += Math.Exp(v - max);
        }
        var logSum = max + Math.Log(sum);
        for (var i = 0; i < values.Length; i++)
        {
            destination[i] = values[i] - logSum;
        }
    }

    /// <summary>The sample as probabilities: the values themselves when they are a distribution, else their softmax.</summary>
    public static double[] Of(ReadOnlySpan<float> values)
    {
        var result = new double[values.Length];
        if (IsDistribution(values))
        {
            for (var i = 0; i < values.Length; i++)
            {
                result[i] = values[i];
            }
            return result;
        }
        LogSoftmax(values, result);
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = Math.Exp(result[i]);
        }
        return result;
    }
}
