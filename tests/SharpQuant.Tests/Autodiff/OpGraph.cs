namespace SharpQuant.Tests.Autodiff;

/// <summary>A small graph around one op (or a few) for rule checks: inputs with random data, constants, nodes.</summary>
public sealed class OpGraph
{
    private readonly Random _random;

    public OpGraph(int seed = 7, long opset = 13)
    {
        _random = new Random(seed);
        Graph.Info.OnnxOpset = opset;
    }

    public Graph Graph { get; } = new();
    public Dictionary<string, Tensor> Feeds { get; } = new(StringComparer.Ordinal);

    /// <summary>A graph input with uniform data in [lo, hi), nudged at least <paramref name="margin"/> away from each of <paramref name="avoid"/> (kinks).</summary>
    public Value Input(string name, long[] shape, float lo = -2f, float hi = 2f, float[]? avoid = null, float margin = 0.05f)
    {
        var data = Uniform(Shapes.ElementCount(shape), lo, hi, avoid, margin);
        Feeds[name] = Tensor.FromFloats(data, shape);
        return Graph.AddInput(name, ElementType.Float, shape.Select(Dim.Of).ToArray());
    }

    /// <summary>A graph input whose elements are distinct multiples of <paramref name="spacing"/> (no near-ties, for MaxPool).</summary>
    public Value SpacedInput(string name, long[] shape, float spacing = 0.05f)
    {
        var n = (int)Shapes.ElementCount(shape);
        var order = Enumerable.Range(0, n).OrderBy(_ => _random.Next()).ToArray();
        var data = order.Select(i => (i - (n / 2)) * spacing).ToArray();
        Feeds[name] = Tensor.FromFloats(data, shape);
        return Graph.AddInput(name, ElementType.Float, shape.Select(Dim.Of).ToArray());
    }

    public Value Constant(string name, long[] shape, float lo = -1f, float hi = 1f) =>
        Graph.AddConstant(name, Tensor.FromFloats(Uniform(Shapes.ElementCount(shape), lo, hi, null, 0f), shape));

    public Value Constant(string name, Tensor tensor) => Graph.AddConstant(name, tensor);

    public Value Ints(string name, params long[] values) => Graph.AddConstant(name, Tensor.Create(values, values.Length));

    public Value Node(string op, Value?[] inputs, params (string Name, AttributeValue Value)[] attributes) =>
        Nodes(op, 1, inputs, attributes)[0];

    public Value[] Nodes(string op, int outputs, Value?[] inputs, params (string Name, AttributeValue Value)[] attributes)
    {
        var node = Graph.AddNode(op, inputs, outputs, moduleName: $"{op.ToLowerInvariant()}{Graph.Nodes.Count}",
            attributes: attributes.ToDictionary(a => a.Name, a => a.Value));
        foreach (var o in node.Outputs)
        {
            o.ElementType = ElementType.Float;
        }
        return node.Outputs.ToArray();
    }

    public OpGraph Output(Value value)
    {
        Graph.AddOutput(value);
        return this;
    }

    private float[] Uniform(long count, float lo, float hi, float[]? avoid, float margin)
    {
        var data = new float[count];
        for (var i = 0; i < data.Length; i++)
        {
            var v = lo + ((float)_random.NextDouble() * (hi - lo));
            foreach (var p in avoid ?? [])
            {
                if (Math.Abs(v - p) < margin)
                {
                    v = v < p ? p - (2 * margin) : p + (2 * margin);
                }
            }
            data[i] = v;
        }
        return data;
    }
}

/// <summary>Shorthand for attributes in the rule tests.</summary>
public static class A
{
    public static (string, AttributeValue) I(string name, long value) => (name, AttributeValue.Of(value));
    public static (string, AttributeValue) F(string name, float value) => (name, AttributeValue.Of(value));
    public static (string, AttributeValue) S(string name, string value) => (name, AttributeValue.Of(value));
    public static (string, AttributeValue) Is(string name, params long[] values) => (name, AttributeValue.Of(values));
}
