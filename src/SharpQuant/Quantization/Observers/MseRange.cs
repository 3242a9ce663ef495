namespace SharpQuant.Quantization.Observers;

/// <summary>
/// The MSE rule: among ranges that shrink the observed extremes, the one whose quantization grid gives the least
/// expected squared error on the histogram.
/// <para>
/// A candidate is (fLo·min, fHi·max) with shrink factors in (0, 1]; its grid is exactly what
/// <see cref="QuantMath.FromRange"/> makes of it under the spec (bits, scheme, signedness). The error of a bin
/// is integrated exactly, assuming its values are spread evenly over the bin: rounding error inside the grid
/// (which tends to s²/12 per value when the bin is wide) and clipping error (x − edge)² outside it. Unlike
/// evaluating the bin centre only, that stays right whether a bin is much narrower or much wider than a step.
/// </para>
/// <para>
/// Symmetric specs, and affine specs whose data have one sign, have one free parameter (fLo = fHi): a grid of
/// <see cref="CoarseSteps"/> factors, then <see cref="FineSteps"/> between the best one's neighbours. Affine specs
/// with both signs search (fLo, fHi) jointly on a <see cref="JointSteps"/>² grid, then refine each side in turn.
/// </para>
/// </summary>
internal static class MseRange
{
    /// <summary>Shrink factors k/128, k = 1…128: steps of 0.8 % of the observed range.</summary>
    private const int CoarseSteps = 128;

    /// <summary>Half the number of factors tried between the best coarse factor's two neighbours: the final step is 1/(128·64) of the range.</summary>
    private const int FineSteps = 64;

    /// <summary>Factors per side on the joint affine grid (576 candidates); refinement then recovers the resolution.</summary>
    private const int JointSteps = 24;

    /// <summary>Rounds of refining fHi then fLo after the joint grid; the second round settles their interaction.</summary>
    private const int RefineRounds = 2;

    public static (double Lo, double Hi) Choose(StreamingHistogram histogram, QuantSpec spec)
    {
        if (!histogram.HasRange)
        {
            return (0, 0);
        }
        var bins = OccupiedBins.Of(histogram);
        double min = histogram.Min, max = histogram.Max;
        double Error(double fLo, double fHi) => bins.ExpectedSquaredError(min * fLo, max * fHi, spec);

        if (spec.Scheme != QuantScheme.Affine || min >= 0 || max <= 0)
        {
            var f = Search1D(f => Error(f, f), 1.0 / CoarseSteps, 1, CoarseSteps - 1);
            f = Search1D(f => Error(f, f), f - 1.0 / CoarseSteps, f + 1.0 / CoarseSteps, 2 * FineSteps);
            return (min * f, max * f);
        }

        // Joint coarse grid over both sides.
        double bestLo = 1, bestHi = 1, best = double.PositiveInfinity;
        for (var i = 1; i <= JointSteps; i++)
        {
            for (var j = 1; j <= JointSteps; j++)
            {
                var e = Error((double)i / JointSteps, (double)j / JointSteps);
                if (e < best)
                {
                    (best, bestLo, bestHi) = (e, (double)i / JointSteps, (double)j / JointSteps);
                }
            }
        }
        var halfWindow = 1.0 / JointSteps;
        for (var round = 0; round < RefineRounds; round++)
        {
            var lo = bestLo;
            bestHi = Search1D(f => Error(lo, f), bestHi - halfWindow, bestHi + halfWindow, 2 * FineSteps);
            var hi = bestHi;
            bestLo = Search1D(f => Error(f, hi), bestLo - halfWindow, bestLo + halfWindow, 2 * FineSteps);
            halfWindow /= FineSteps / 2.0;
        }
        return (min * bestLo, max * bestHi);
    }

    /// <summary>
    /// The factor in [from, to] ∩ (0, 1] on a grid of <paramref name="steps"/> intervals with the least error;
    /// ties go to the larger factor (less clipping).
    /// </summary>
    private static double Search1D(Func<double, double> error, double from, double to, int steps)
    {
        from = Math.Max(from, 0);
        to = Math.Min(to, 1);
        double bestFactor = to, best = double.PositiveInfinity;
        for (var k = steps; k >= 0; k--)
        {
            var f = from + (to - from) * k / steps;
            if (f <= 0)
            {
                continue;
            }
            var e = error(f);
            if (e < best)
            {
                (best, bestFactor) = (e, f);
            }
        }
        return bestFactor;
    }
}
