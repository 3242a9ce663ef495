using SharpQuant.Passes;
using SharpQuant.Quantization;

namespace SharpQuant.Analysis;

/// <summary>
/// Per-output-channel box statistics of a weight tensor (the tutorial's per-channel boxplots, which show what
/// cross-layer equalization does to the channel ranges).
/// </summary>
public static class ChannelBoxStats
{
    /// <summary>Tukey's whisker reach, in interquartile ranges beyond the box (matplotlib's default <c>whis=1.5</c>).</summary>
    public const double WhiskerReach = 1.5;

    /// <summary>The layers that have a constant weight to draw (Conv, ConvTranspose, Gemm, MatMul), in graph order.</summary>
    public static IReadOnlyList<Node> WeightedLayers(Graph graph) =>
        graph.Nodes.Where(n => LinearLayer.IsLinearOp(n) && LinearLayer.WeightValue(n) is not null).ToList();

    /// <summary>One box per output channel of a layer's weight (the float weight, also behind a FakeQuant).</summary>
    public static IReadOnlyList<ChannelBox> OfLayer(Node layer) =>
        LinearLayer.WeightValue(layer)?.ConstantValue is { } weight
            ? Of(weight, QuantSim.WeightChannelAxis(layer))
            : throw new SharpQuantException($"'{layer.ModuleName}' ({layer.OpType}) has no constant weight");

    /// <summary>One box per channel along <paramref name="axis"/> (0 for Conv; <see cref="QuantSim.WeightChannelAxis"/> knows the others).</summary>
    public static IReadOnlyList<ChannelBox> Of(Tensor weight, int axis)
    {
        if (weight.ElementType != ElementType.Float)
        {
            throw new SharpQuantException($"box statistics need a float32 weight, not {weight.ElementType.DisplayName()}");
        }
        if (axis < 0 || axis >= weight.Rank)
        {
            throw new SharpQuantException($"axis {axis} is outside a weight of rank {weight.Rank}");
        }
        var (outer, channels, inner) = QuantMath.ChannelLayout(weight.Shape, axis);
        var data = weight.Floats;
        var boxes = new ChannelBox[channels];
        var values = new float[outer * inner];
        for (var c = 0; c < channels; c++)
        {
            for (long o = 0; o < outer; o++)
            {
                data.Slice((int)((o * channels + c) * inner), (int)inner).CopyTo(values.AsSpan((int)(o * inner)));
            }
            boxes[c] = OfValues(c, values);
        }
        return boxes;
    }

    /// <summary>The box of one set of values (sorted in place).</summary>
    public static ChannelBox OfValues(int channel, Span<float> values)
    {
        if (values.IsEmpty)
        {
            throw new SharpQuantException($"channel {channel} has no values");
        }
        values.Sort();
        var q1 = Quantile(values, 0.25);
        var median = Quantile(values, 0.5);
        var q3 = Quantile(values, 0.75);
        var reach = WhiskerReach * (q3 - q1);
        // The whiskers end on data points: the smallest value not below Q1 − 1.5 IQR and the largest not above Q3 + 1.5 IQR.
        var lowLimit = q1 - reach;
        var highLimit = q3 + reach;
        var low = 0;
        while (values[low] < lowLimit)
        {
            low++;
        }
        var high = values.Length - 1;
        while (values[high] > highLimit)
        {
            high--;
        }
        return new ChannelBox(channel, values.Length, values[0], values[low], q1, median, q3, values[high], values[^1]);
    }

    /// <summary>
    /// The p-quantile of sorted values by linear interpolation between the order statistics at (n − 1)·p: numpy's
    /// default (Hyndman–Fan type 7), which matplotlib's boxplot uses.
    /// </summary>
    public static double Quantile(ReadOnlySpan<float> sorted, double p)
    {
        var h = (sorted.Length - 1) * p;
        var lo = (int)Math.Floor(h);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (h - lo) * ((double)sorted[hi] - sorted[lo]);
    }
}
