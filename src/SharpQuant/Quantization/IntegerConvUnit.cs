namespace SharpQuant.Quantization;

/// <summary>
/// A convolution whose input, weight and output are all fake-quantized (optionally with a ReLU before the output
/// quantizer): the unit ONNX Runtime runs as one QLinearConv in the QDQ export. The simulation lowers it the way that
/// kernel computes, instead of in float:
/// <code>
///   acc = Conv(q_x − z_x, q_w) + q_b          integers, exact in float32 while every partial sum is below 2^24
///   q_y = clip(round(relu?(acc · M)) + z_y)   M = (s_x · s_w[c]) / s_y in float32, as QLinearConv computes it
/// </code>
/// A float simulation of the same unit, conv(x̂, ŵ) + b̂ followed by round(y / s_y), is equal in exact arithmetic
/// but rounds differently: its float32 sums over up to 4608 products put a few values on the other side of a rounding
/// boundary in every layer, and across ResNet18's 20 layers those flips grew to 28 % of the last layer's values and
/// up to 1.2 output steps between simulation and export. With the integer form the two agree value for value
/// (round(v) = round(max(v, 0)) for ReLU's clamp at z_y, the int32 bias is the export's, the multiplier its formula).
/// </summary>
internal sealed record IntegerConvUnit(Node Conv, Node InputFakeQuant, Node? Relu, Node OutputFakeQuant, QParams Input, QParams Weight, QParams Output, Tensor WeightValue, Tensor? Bias)
{
    /// <summary>
    /// ONNX Runtime would fold the multiplier M into the integer weights (Conv followed by a Mul by a constant),
    /// which undoes the integer form; sessions that run the lowered simulation leave that fusion out.
    /// </summary>
    public const string ConvMulFusion = "ConvMulFusion";

    /// <summary>Largest integer float32 holds exactly (2^24): integer biases beyond it would round.</summary>
    private const long ExactIntegerLimit = 1L << 24;

    /// <summary>Every eligible unit of a graph that still has its FakeQuant nodes, keyed by the output quantizer.</summary>
    public static Dictionary<Node, IntegerConvUnit> Find(Graph graph)
    {
        var units = new Dictionary<Node, IntegerConvUnit>(ReferenceEqualityComparer.Instance);
        foreach (var conv in graph.Nodes.Where(n => n.OpType == "Conv"))
        {
            if (TryMatch(conv) is { } unit)
            {
                units[unit.OutputFakeQuant] = unit;
            }
        }
        return units;
    }

    private static IntegerConvUnit? TryMatch(Node conv)
    {
        if (conv.Input(0).Producer is not { } fx || !IsEnabledFakeQuant(fx) || fx.Input(0).IsConstant || FakeQuantOp.Read(fx).IsPerChannel
            || conv.Input(1).Producer is not { } fw || !IsEnabledFakeQuant(fw) || !fw.Input(0).IsConstant
            || FakeQuantOp.Read(fw) is not { } w || w.ZeroPoint.Any(z => z != 0) || w.IsPerChannel && w.Axis != 0
            || conv.InputOrNull(2) is { } b && b.ConstantValue is not { ElementType: ElementType.Float })
        {
            return null;
        }
        var next = SoleReader(conv.Output);
        Node? relu = null;
        if (next is { OpType: "Relu" })
        {
            relu = next;
            next = SoleReader(relu.Output);
        }
        if (next is null || !IsEnabledFakeQuant(next) || FakeQuantOp.Read(next).IsPerChannel)
        {
            return null;
        }
        return new IntegerConvUnit(conv, fx, relu, next, FakeQuantOp.Read(fx), w, FakeQuantOp.Read(next), fw.Input(0).ConstantValue!, conv.InputOrNull(2)?.ConstantValue);
    }

    /// <summary>
    /// True when some integer bias is 2^24 or more: float32 cannot hold it, so the bias is added in int32 after the
    /// convolution and the sum converted to float, as QLinearConv converts its int32 accumulator. A channel whose
    /// weights are all but zero gets a tiny weight scale and such a bias (ResNet18's stem has some).
    /// </summary>
    public static bool NeedsInt32Bias(int[] bias) => bias.Any(v => Math.Abs((long)v) >= ExactIntegerLimit);

    internal static bool IsEnabledFakeQuant(Node node) => FakeQuantOp.Is(node) && FakeQuantOp.IsEnabled(node);

    internal static Node? SoleReader(Value value) =>
        value.IsGraphOutput || value.Uses.Count != 1 ? null : value.Uses[0].Node;

    /// <summary>The weight on its integer grid (q_w, zero point 0), as the export stores it.</summary>
    public Tensor IntegerWeight() =>
        Tensor.FromFloats(QuantMath.Quantize(WeightValue, Weight).Select(q => (float)q).ToArray(), WeightValue.Shape.ToArray());

    /// <summary>The bias on the int32 grid s_x·s_w[c] (as QdqExport stores it), or null without a bias.</summary>
    public int[]? IntegerBias() =>
        Bias?.ToArray<float>().Select((b, c) => QuantMath.QuantizeBias(b, Input.Scale[0] * Weight.Scale[Weight.Scale.Length == 1 ? 0 : c])).ToArray();

    /// <summary>The requantization multiplier per output channel, M = (s_x · s_w[c]) / s_y in float32 (QLinearConv's order).</summary>
    public float[] Multipliers(int channels)
    {
        var sx = Input.Scale[0];
        var sw = Weight.Scale;
        var sy = Output.Scale[0];
        return Enumerable.Range(0, channels).Select(c => sx * sw[sw.Length == 1 ? 0 : c] / sy).ToArray();
    }
}
