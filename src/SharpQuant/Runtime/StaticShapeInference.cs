namespace SharpQuant.Runtime;

/// <summary>
/// What static shape inference knows of one value for one set of input shapes: its element type, its concrete
/// shape and, for small integer tensors (shapes, axes, pads computed inside the graph), its elements.
/// </summary>
internal readonly record struct ValueFacts(ElementType Type, long[] Shape, long[]? Ints = null)
{
    /// <summary>Integer tensors up to this many elements carry their values: enough for any shape, axes or pads list.</summary>
    public const int MaxTrackedInts = 64;

    public int Rank => Shape.Length;

    public static ValueFacts Of(Tensor constant)
    {
        var ints = IsInteger(constant.ElementType) && constant.ElementCount <= MaxTrackedInts ? constant.ToInt64Array() : null;
        return new ValueFacts(constant.ElementType, constant.Shape.ToArray(), ints);
    }

    /// <summary>Integer types whose values <see cref="Tensor.ToInt64Array"/> can read.</summary>
    public static bool IsInteger(ElementType type) => type is ElementType.Int64 or ElementType.Int32 or ElementType.UInt8 or ElementType.Int8;
}

/// <summary>
/// Shape inference in C#: each node's output types and concrete shapes follow from its inputs' by the op's rule
/// (<see cref="ShapeRules"/>), walking the graph once in topological order. It answers in microseconds what running
/// the graph in ONNX Runtime answers in seconds, and gives up (null) on a node it has no rule for, whose output shape
/// depends on tensor values it does not track, or that ONNX Runtime would reject: the caller then asks ONNX Runtime,
/// which either knows or says what is wrong.
/// </summary>
internal static class StaticShapeInference
{
    /// <summary>The facts of every node output for the given input shapes and types, or null where a rule is missing or undecided.</summary>
    public static Dictionary<Value, ValueFacts>? TryRun(Graph graph, IReadOnlyDictionary<Value, ValueFacts> inputs)
    {
        var facts = new Dictionary<Value, ValueFacts>(inputs, ReferenceEqualityComparer.Instance);
        var opset = graph.Info.OnnxOpset;
        foreach (var node in graph.Nodes)
        {
            if (node is { OpType: "FakeQuant", Domain: OnnxOps.SharpQuantDomain } && new NodeFacts(node, facts).Optional(0) is { } quantized)
            {
                // Fake quantization is elementwise: the input's type and shape.
                facts[node.Output] = quantized with { Ints = null };
                continue;
            }
            if (!node.IsStandardOnnx)
            {
                return null;
            }
            ValueFacts[]? outputs;
            try
            {
                outputs = ShapeRules.Infer(node, new NodeFacts(node, facts), opset);
            }
            catch (Exception e) when (e is IndexOutOfRangeException or ArgumentException or InvalidOperationException or OverflowException or KeyNotFoundException)
            {
                // A malformed node (wrong rank, missing input, overflowing size): ONNX Runtime words the error better.
                return null;
            }
            if (outputs is null || outputs.Length != node.Outputs.Count)
            {
                return null;
            }
            for (var i = 0; i < outputs.Length; i++)
            {
                facts[node.Outputs[i]] = outputs[i];
            }
        }
        return facts;
    }
}

/// <summary>The inputs of one node as a rule reads them: facts of present inputs, null for omitted ones.</summary>
internal readonly struct NodeFacts(Node node, IReadOnlyDictionary<Value, ValueFacts> facts)
{
    public int Count => node.Inputs.Count;

    /// <summary>Facts of input <paramref name="i"/>, or null when it is omitted (or out of range).</summary>
    public ValueFacts? Optional(int i)
    {
        if (node.InputOrNull(i) is not { } value)
        {
            return null;
        }
        if (value.ConstantValue is { } constant)
        {
            return ValueFacts.Of(constant);
        }
        return facts.TryGetValue(value, out var f) ? f : throw new KeyNotFoundException($"no facts for '{value.Name}'");
    }

    public ValueFacts this[int i] => Optional(i) ?? throw new ArgumentException($"input {i} of '{node.ModuleName}' is missing");

    /// <summary>The integer elements of input <paramref name="i"/> when they are known; null when omitted or unknown.</summary>
    public long[]? Ints(int i) => Optional(i)?.Ints;
}
