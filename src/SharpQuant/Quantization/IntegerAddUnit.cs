namespace SharpQuant.Quantization;

/// <summary>
/// An Add of two fake-quantized activations of one shape (optionally with a ReLU before the output quantizer): the
/// unit ONNX Runtime runs as one QLinearAdd in the QDQ export (it drops the ReLU when the output's zero point is the
/// type's minimum, where the clamp does its work). MLAS's x86 kernel does not add the dequantized values; it computes,
/// on the raw integers a and b,
/// <code>
///   F   = z_c − (r_a · z_a + r_b · z_b)        r_a = s_a / s_c, r_b = s_b / s_c in float32
///   q_c = clip(round(fma(a, r_a, fma(b, r_b, F))))   to the type's range
/// </code>
/// The float simulation round((â + b̂) / s_c) + z_c is equal in exact arithmetic but rounds differently: a few
/// values in every block land one step apart, and through ResNet18's last stage they grew to 3 steps. The lowering
/// evaluates each fused multiply-add in float64, where the product and the sum are exact for any scale ratio above
/// 2^-21, and rounds once to float32, which is what the fused instruction does.
/// </summary>
internal sealed record IntegerAddUnit(Node Add, Node InputA, Node InputB, Node? Relu, Node OutputFakeQuant, QParams A, QParams B, QParams Output)
{
    /// <summary>Every eligible unit of a graph that still has its FakeQuant nodes, keyed by the output quantizer.</summary>
    public static Dictionary<Node, IntegerAddUnit> Find(Graph graph)
    {
        var units = new Dictionary<Node, IntegerAddUnit>(ReferenceEqualityComparer.Instance);
        foreach (var add in graph.Nodes.Where(n => n.OpType == "Add" && n.Inputs.Count == 2))
        {
            if (TryMatch(add) is { } unit)
            {
                units[unit.OutputFakeQuant] = unit;
            }
        }
        return units;
    }

    private static IntegerAddUnit? TryMatch(Node add)
    {
        if (ActivationQuantizer(add.Input(0)) is not { } fa || ActivationQuantizer(add.Input(1)) is not { } fb
            || !SameShape(add.Input(0), add.Input(1)))
        {
            return null;
        }
        var next = IntegerConvUnit.SoleReader(add.Output);
        Node? relu = null;
        if (next is { OpType: "Relu" })
        {
            relu = next;
            next = IntegerConvUnit.SoleReader(relu.Output);
        }
        if (next is null || !IntegerConvUnit.IsEnabledFakeQuant(next) || FakeQuantOp.Read(next) is not { IsPerChannel: false } output)
        {
            return null;
        }
        var a = FakeQuantOp.Read(fa);
        var b = FakeQuantOp.Read(fb);
        // QLinearAdd saturates to the integer type; the simulation's clip must be the same range, and a ReLU is only
        // dropped by ONNX Runtime where the output's zero point is that type's minimum.
        var (typeMin, typeMax) = TypeRange(output);
        if (output.QMin != typeMin || output.QMax != typeMax || TypeRange(a) != (a.QMin, a.QMax) || TypeRange(b) != (b.QMin, b.QMax)
            || relu is not null && output.ZeroPoint[0] != typeMin)
        {
            return null;
        }
        return new IntegerAddUnit(add, fa, fb, relu, next, a, b, output);
    }

    private static Node? ActivationQuantizer(Value value) =>
        value.Producer is { } fq && IntegerConvUnit.IsEnabledFakeQuant(fq) && !fq.Input(0).IsConstant && !FakeQuantOp.Read(fq).IsPerChannel ? fq : null;

    /// <summary>
    /// Equal shapes, dimension by dimension (a named batch dimension matches itself). The kernel treats a broadcast
    /// scalar input in another order of operations, so broadcasting Adds stay in float.
    /// </summary>
    private static bool SameShape(Value a, Value b) =>
        a.Shape is { } sa && b.Shape is { } sb && sa.Count == sb.Count
        && sa.Zip(sb).All(p => p.First.IsKnown ? p.First.Size == p.Second.Size : p.First.Symbol is { } s && s == p.Second.Symbol);

    /// <summary>The 8-bit type QuantizeLinear would use for these parameters: uint8 unless the grid reaches below 0.</summary>
    private static (int Min, int Max) TypeRange(QParams p) => p.QMin < 0 ? (-128, 127) : (0, 255);

    /// <summary>r_a, r_b and F exactly as the kernel computes them, in float32.</summary>
    public (float RatioA, float RatioB, float FixedPart) KernelConstants()
    {
        var ra = A.Scale[0] / Output.Scale[0];
        var rb = B.Scale[0] / Output.Scale[0];
        var productA = ra * A.ZeroPoint[0];
        var productB = rb * B.ZeroPoint[0];
        var fixedPart = Output.ZeroPoint[0] - (productA + productB);
        return (ra, rb, fixedPart);
    }
}
