namespace SharpQuant.Autodiff;

/// <summary>
/// Appends nodes and constants to the gradient graph under a readable scope (the forward node a rule is
/// differentiating), so that a backward node reads <c>grad/layer1.0.conv1/ConvTranspose</c> in tables and errors.
/// Every node goes at the end of the graph, which keeps the order topological while the backward pass walks the
/// forward nodes in reverse.
/// </summary>
internal sealed class GraphEmitter(Graph graph)
{
    private long _nodeCount;

    public Graph Graph { get; } = graph;

    /// <summary>Prefix for the module names of the nodes emitted next.</summary>
    public string Scope { get; set; } = "grad";

    public Value Op(string opType, Value?[] inputs, params (string Name, object Value)[] attributes) =>
        OpTyped(opType, ElementType.Float, inputs, attributes);

    public Value OpTyped(string opType, ElementType type, Value?[] inputs, params (string Name, object Value)[] attributes) =>
        OpMulti(opType, 1, inputs, attributes)[0].WithType(type);

    public Value[] OpMulti(string opType, int outputs, Value?[] inputs, params (string Name, object Value)[] attributes)
    {
        var node = Graph.AddNode(opType, inputs, outputs, moduleName: $"{Scope}/{opType}", attributes: ToAttributes(attributes));
        // ONNX wants node names unique; module names may repeat (they group the nodes of one rule).
        node.Name = $"{Scope}/{opType}#{++_nodeCount}";
        foreach (var o in node.Outputs)
        {
            o.ElementType = ElementType.Float;
        }
        return node.Outputs.ToArray();
    }

    /// <summary>A 1-D int64 constant (axes, shapes, pads, starts).</summary>
    public Value Ints(params long[] values) => Graph.AddConstant(Scope + ".ints", Tensor.Create(values, values.Length));

    /// <summary>A float32 scalar constant of shape [] (broadcasts without raising the rank).</summary>
    public Value Scalar(float value) => Graph.AddConstant(Scope + ".scalar", Tensor.Create(new[] { value }));

    public Value Constant(Tensor tensor) => Graph.AddConstant(Scope + ".const", tensor);

    // Small vocabulary used by the rules.
    public Value Add(Value a, Value b) => Op("Add", [a, b]);
    public Value Sub(Value a, Value b) => Op("Sub", [a, b]);
    public Value Mul(Value a, Value b) => Op("Mul", [a, b]);
    public Value Div(Value a, Value b) => Op("Div", [a, b]);
    public Value Neg(Value a) => Op("Neg", [a]);
    public Value Shape(Value a) => OpTyped("Shape", ElementType.Int64, [a]);
    public Value Reshape(Value a, Value shape) =>
        OpTyped("Reshape", a.ElementType == ElementType.Undefined ? ElementType.Float : a.ElementType, [a, shape]);
    public Value ReshapeLike(Value a, Value like) => Reshape(a, Shape(like));
    public Value Transpose(Value a, long[] perm) => Op("Transpose", [a], ("perm", perm));
    public Value Cast(Value a, ElementType to) => OpTyped("Cast", to, [a], ("to", (long)to));

    /// <summary>Where(condition, a, b) with a bool condition.</summary>
    public Value Where(Value condition, Value a, Value b) => Op("Where", [condition, a, b]);

    public Value Bool(string opType, Value a, Value b) => OpTyped(opType, ElementType.Bool, [a, b]);

    /// <summary>A float tensor of <paramref name="fill"/> with the run-time shape of <paramref name="like"/>.</summary>
    public Value Filled(Value like, float fill) =>
        Op("ConstantOfShape", [Shape(like)], ("value", Tensor.FromFloats([fill], 1)));

    /// <summary>Sum over <paramref name="axes"/> (all axes when empty).</summary>
    public Value ReduceSum(Value a, long[] axes, bool keepDims) =>
        axes.Length == 0
            ? Op("ReduceSum", [a], ("keepdims", keepDims ? 1L : 0L))
            : Op("ReduceSum", [a, Ints(axes)], ("keepdims", keepDims ? 1L : 0L));

    /// <summary>numel(<paramref name="a"/>) as a float scalar, counted at run time.</summary>
    public Value SizeAsFloat(Value a) => Cast(OpTyped("Size", ElementType.Int64, [a]), ElementType.Float);

    /// <summary>Sums the contributions (one needs no node).</summary>
    public Value Sum(IReadOnlyList<Value> terms) => terms.Count == 1 ? terms[0] : Op("Sum", terms.ToArray());

    private static Dictionary<string, AttributeValue> ToAttributes((string Name, object Value)[] attributes)
    {
        var result = new Dictionary<string, AttributeValue>(StringComparer.Ordinal);
        foreach (var (name, value) in attributes)
        {
            result[name] = value switch
            {
                AttributeValue a => a,
                long l => AttributeValue.Of(l),
                int i => AttributeValue.Of((long)i),
                float f => AttributeValue.Of(f),
                string s => AttributeValue.Of(s),
                long[] ls => AttributeValue.Of(ls),
                float[] fs => AttributeValue.Of(fs),
                Tensor t => AttributeValue.Of(t),
                _ => throw new ArgumentException($"attribute '{name}' has an unsupported type {value.GetType().Name}"),
            };
        }
        return result;
    }
}

internal static class ValueTypeExtensions
{
    public static Value WithType(this Value value, ElementType type)
    {
        value.ElementType = type;
        return value;
    }
}
