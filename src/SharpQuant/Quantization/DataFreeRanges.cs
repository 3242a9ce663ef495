using SharpQuant.Passes;

namespace SharpQuant.Quantization;

public sealed record DataFreeRange(string Quantizer, double Lo, double Hi, string Source);

public sealed record DataFreeRangeReport(IReadOnlyList<DataFreeRange> Ranges, IReadOnlyList<RejectedCandidate> Skipped)
{
    /// <summary>The activation quantizers of the simulation: those that got a range and those that did not.</summary>
    public int Total => Ranges.Count + Skipped.Count;

    /// <summary>How many layers had folded BatchNorm statistics to take ranges from.</summary>
    public int LayersWithStatistics { get; init; }
}

/// <summary>
/// Activation ranges without any image (DFQ's data-free setting): a layer's pre-activation channel c is taken as
/// N(β_c, γ_c²) from its folded BatchNorm, so its range is β ± n·|γ| (n = 6 by default); ReLU clips it at 0, Clip
/// clamps it, pooling, reshapes and quantizers keep it, and an Add sums the ranges of its inputs. The model input's
/// range comes from the preprocessing (for example 0–255 pixels minus the ResNet18 mean image). A model without any
/// statistics (every eval-mode PyTorch export: the exporter fuses BatchNorm into the convolutions) would get a range
/// at its input only, so <see cref="Apply"/> refuses it and says what to give instead.
/// </summary>
public static class DataFreeRanges
{
    /// <summary>Standard deviations around β: 6 leaves about 2e-9 of a Gaussian outside the range.</summary>
    public const double DefaultStandardDeviations = 6;

    /// <summary>Sets every activation quantizer's range that the statistics reach; throws where the model has none at all.</summary>
    public static DataFreeRangeReport Apply(QuantSim sim, (double Lo, double Hi)? inputRange, double standardDeviations = DefaultStandardDeviations)
    {
        var ranges = new List<DataFreeRange>();
        var skipped = new List<RejectedCandidate>();
        foreach (var q in sim.Quantizers.Where(q => q.Kind == QuantizerKind.Activation))
        {
            var source = new List<string>();
            if (RangeOf(q.Input, inputRange, standardDeviations, source) is not { } range)
            {
                skipped.Add(new RejectedCandidate(q.Name, q.Target, $"no data-free range: {string.Join(", ", source)}"));
                continue;
            }
            q.SetQParams(QuantMath.FromRanges([range], q.Spec));
            q.ObserverEnabled = false;
            q.FakeQuantEnabled = true;
            ranges.Add(new DataFreeRange(q.Name, range.Lo, range.Hi, string.Join(" → ", source)));
        }
        var withStatistics = sim.Graph.Nodes.Count(n => LinearLayer.IsLinearOp(n) && BatchNormStats.Of(n) is not null);
        if (withStatistics == 0 && skipped.Count > 0)
        {
            throw new SharpQuantException(
                $"data-free quantization needs BatchNorm statistics, and no layer of this model has any (an eval-mode export fuses BatchNorm into the convolutions): " +
                $"only {ranges.Count} of {ranges.Count + skipped.Count} activation quantizers would get a range; " +
                "calibrate on data instead: images with --images DIR, or input tensors (.npy) with --inputs DIR");
        }
        return new DataFreeRangeReport(ranges, skipped) { LayersWithStatistics = withStatistics };
    }

    private static (double Lo, double Hi)? RangeOf(Value value, (double Lo, double Hi)? inputRange, double n, List<string> trail)
    {
        if (value.Producer is not { } p)
        {
            trail.Add(value.IsGraphInput ? "model input" : value.Name);
            return value.IsGraphInput ? inputRange : null;
        }
        switch (p.OpType)
        {
            case "FakeQuant" or "Identity" or "Dropout" or "MaxPool" or "AveragePool" or "GlobalAveragePool" or "GlobalMaxPool" or "Flatten" or "Reshape":
                return RangeOf(p.Input(0), inputRange, n, trail);
            case "Relu":
                trail.Add("ReLU");
                return RangeOf(p.Input(0), inputRange, n, trail) is { } r ? (Math.Max(0, r.Lo), Math.Max(0, r.Hi)) : null;
            case "Clip":
                var (min, max) = EqualizationSetFinder.ClipBounds(p);
                trail.Add("Clip");
                return RangeOf(p.Input(0), inputRange, n, trail) is { } c ? (Math.Clamp(c.Lo, min, max), Math.Clamp(c.Hi, min, max)) : null;
            case "Min" when p.Inputs.Count == 2 && p.Inputs[1]?.ConstantValue is { ElementType: ElementType.Float } bound && !p.Input(0).IsConstant:
                // The per-channel bound of an exactly equalized ReLU6: min(x, b_c) keeps each end at most the largest bound.
                trail.Add("Min");
                var bounds = bound.ToArray<float>();
                return RangeOf(p.Input(0), inputRange, n, trail) is { } m ? (Math.Min(m.Lo, bounds.Min()), Math.Min(m.Hi, bounds.Max())) : null;
            case "Add" when p.Inputs.All(i => i is { IsConstant: false }):
                trail.Add("Add");
                var a = RangeOf(p.Input(0), inputRange, n, trail);
                var b = RangeOf(p.Input(1), inputRange, n, trail);
                return a is { } x && b is { } y ? (x.Lo + y.Lo, x.Hi + y.Hi) : null;
            default:
                if (LinearLayer.IsLinearOp(p) && BatchNormStats.Of(p) is { } stats)
                {
                    trail.Add($"BatchNorm of {p.ModuleName}");
                    var lo = stats.Beta.Select((beta, i) => beta - n * Math.Abs(stats.Gamma[i])).Min();
                    var hi = stats.Beta.Select((beta, i) => beta + n * Math.Abs(stats.Gamma[i])).Max();
                    return (lo, hi);
                }
                trail.Add($"{p.OpType} '{p.ModuleName}' has no statistics");
                return null;
        }
    }
}
