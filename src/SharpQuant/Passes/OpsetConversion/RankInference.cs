using System.Collections.Frozen;

namespace SharpQuant.Passes.OpsetConversion;

/// <summary>
/// The rank of a value whose shape the file does not record, followed back through the graph: ops that keep their
/// input's rank, broadcasts, ops of a fixed rank, and Reshape, whose rank is the length of its shape input (itself
/// followed through the Shape → Slice → Concat arithmetic exporters write). Null when it cannot be told without
/// running shape inference. Answers are cached: residual networks reach the same values along many paths.
/// </summary>
internal sealed class RankInference
{
    // Ops whose output has the rank of their first input.
    private static readonly FrozenSet<string> KeepRank = new[]
    {
        "Abs", "AveragePool", "BatchNormalization", "Cast", "Ceil", "Celu", "Clip", "Conv", "ConvTranspose", "DepthToSpace",
        "DequantizeLinear", "Dropout", "Elu", "Erf", "Exp", "FakeQuant", "Floor", "GlobalAveragePool", "GlobalLpPool",
        "GlobalMaxPool", "HardSigmoid", "HardSwish", "Hardmax", "Identity", "InstanceNormalization", "LRN", "LeakyRelu",
        "Log", "LogSoftmax", "LpNormalization", "LpPool", "MaxPool", "MeanVarianceNormalization", "Neg", "Not", "PRelu",
        "Pad", "QuantizeLinear", "Reciprocal", "Relu", "Resize", "Round", "Selu", "Sigmoid", "Sign", "Sin", "Cos", "Slice",
        "Softmax", "Softplus", "Softsign", "SpaceToDepth", "Split", "Sqrt", "Tanh", "ThresholdedRelu", "Tile", "Transpose",
        "Upsample", "Concat", "ImageScaler", "CumSum", "TopK",
    }.ToFrozenSet(StringComparer.Ordinal);

    // Ops whose output has the rank of their broadest input (multidirectional broadcasting).
    private static readonly FrozenSet<string> Broadcast = new[]
    {
        "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Where", "Equal", "Greater", "Less",
        "GreaterOrEqual", "LessOrEqual", "And", "Or", "Xor", "Mod",
    }.ToFrozenSet(StringComparer.Ordinal);

    private readonly Dictionary<Value, int?> _ranks = new(ReferenceEqualityComparer.Instance);

    public int? RankOf(Value value)
    {
        if (value.Shape is { } shape)
        {
            return shape.Count;
        }
        if (value.ConstantValue is { } constant)
        {
            return constant.Rank;
        }
        if (_ranks.TryGetValue(value, out var known))
        {
            return known;
        }
        _ranks[value] = null; // a cycle (not possible in a valid graph) stops here
        var rank = value.Producer is { } producer ? FromProducer(producer) : null;
        _ranks[value] = rank;
        return rank;
    }

    private int? FromProducer(Node node)
    {
        var op = node.OpType;
        if (KeepRank.Contains(op))
        {
            return RankOf(node.Input(0));
        }
        if (Broadcast.Contains(op))
        {
            var ranks = node.Inputs.Where(i => i is not null).Select(i => RankOf(i!)).ToList();
            return ranks.Any(r => r is null) ? null : ranks.Max();
        }
        return op switch
        {
            "Gemm" or "Flatten" => 2,
            "Shape" => 1,
            "Size" => 0,
            "MatMul" => RankOf(node.Input(0)) is >= 2 and var a && RankOf(node.Input(1)) is >= 2 and var b ? Math.Max(a, b) : null,
            "Reshape" => LengthOf(node.Input(1)),
            "Gather" => RankOf(node.Input(0)) is { } data && RankOf(node.Input(1)) is { } indices ? data - 1 + indices : null,
            "Squeeze" => Axes(node) is { } axes && RankOf(node.Input(0)) is { } r ? r - axes.Length : null,
            "Unsqueeze" => Axes(node) is { } axes && RankOf(node.Input(0)) is { } r ? r + axes.Length : null,
            "ReduceMean" or "ReduceSum" or "ReduceMax" or "ReduceMin" or "ReduceProd" or "ReduceL1" or "ReduceL2"
                or "ReduceLogSum" or "ReduceLogSumExp" or "ReduceSumSquare" or "ArgMax" or "ArgMin" => ReducedRank(node),
            _ => null,
        };
    }

    private int? ReducedRank(Node node)
    {
        if (RankOf(node.Input(0)) is not { } rank)
        {
            return null;
        }
        if (node.GetInt("keepdims", 1) != 0)
        {
            return rank;
        }
        if (node.OpType is "ArgMax" or "ArgMin")
        {
            return rank - 1;
        }
        return Axes(node) is { } axes ? rank - axes.Length : null;
    }

    /// <summary>The axes of a Squeeze, Unsqueeze or Reduce: an attribute before opset 13 (18 for most Reduces), an input after.</summary>
    private static long[]? Axes(Node node) => node.GetInts("axes") ?? node.ConstantInput(1)?.ToInt64Array();

    /// <summary>The length of a 1-D integer tensor (a shape being computed), or null.</summary>
    private int? LengthOf(Value value)
    {
        if (value.ConstantValue is { } constant)
        {
            return (int)constant.ElementCount;
        }
        if (value.Shape is [{ Size: { } size }])
        {
            return (int)size;
        }
        var node = value.Producer;
        return node?.OpType switch
        {
            "Cast" or "Identity" or "Neg" or "Abs" => LengthOf(node.Input(0)),
            "Shape" => RankOf(node.Input(0)),
            "Concat" => node.Inputs.Select(i => i is null ? 0 : LengthOf(i)).Aggregate((int?)0, (sum, n) => sum is null || n is null ? null : sum + n),
            "Slice" => SliceLength(node),
            "Unsqueeze" when RankOf(node.Input(0)) == 0 => 1,
            "Gather" when node.ConstantInput(1) is { Rank: 1 } indices => (int)indices.ElementCount,
            _ => null,
        };
    }

    /// <summary>
    /// How many elements a Slice of a 1-D tensor keeps, from constant bounds: attributes before opset 10, inputs after
    /// (either may be met: the conversion moves them as it goes).
    /// </summary>
    private int? SliceLength(Node node)
    {
        if (LengthOf(node.Input(0)) is not { } length)
        {
            return null;
        }
        var starts = node.GetInts("starts") ?? node.ConstantInput(1)?.ToInt64Array();
        var ends = node.GetInts("ends") ?? node.ConstantInput(2)?.ToInt64Array();
        var steps = node.InputOrNull(4) is null ? [1] : node.ConstantInput(4)?.ToInt64Array();
        if (starts is not [var start] || ends is not [var end] || steps is not [var step] || step == 0)
        {
            return null;
        }
        long Clamp(long v, long lo, long hi) => Math.Min(Math.Max(v < 0 ? v + length : v, lo), hi);
        var (first, last) = step > 0 ? (Clamp(start, 0, length), Clamp(end, 0, length)) : (Clamp(start, -1, length - 1), Clamp(end, -1, length - 1));
        var count = step > 0 ? (last - first + step - 1) / step : (first - last - step - 1) / -step;
        return (int)Math.Max(0, count);
    }
}
