using SharpQuant.Runtime;

namespace SharpQuant.Passes.Normalization;

/// <summary>
/// Runs the C# shape rules over a graph for one set of input sizes, like <see cref="StaticShapeInference"/>, but
/// goes on past a node it cannot infer: that node's outputs get no facts, and neither does anything computed from
/// them, while the rest of the graph is still evaluated. A model with one op the rules do not know (a Range, a custom
/// op) still gets the shape arithmetic elsewhere folded. Range, which has no shape rule, is evaluated here when its
/// three scalars are known.
/// </summary>
internal static class ShapeValueEvaluator
{
    public static Dictionary<Value, ValueFacts> Run(Graph graph, IReadOnlyDictionary<Value, ValueFacts> inputs)
    {
        var facts = new Dictionary<Value, ValueFacts>(inputs, ReferenceEqualityComparer.Instance);
        var opset = graph.Info.OnnxOpset;
        foreach (var node in graph.Nodes)
        {
            if (!node.IsStandardOnnx || node.Inputs.Any(i => i is { IsConstant: false } && !facts.ContainsKey(i)))
            {
                continue;
            }
            var outputs = node.OpType == "Range" ? Range(new NodeFacts(node, facts)) : TryInfer(node, new NodeFacts(node, facts), opset);
            if (outputs is null || outputs.Length != node.Outputs.Count)
            {
                continue;
            }
            for (var i = 0; i < outputs.Length; i++)
            {
                facts[node.Outputs[i]] = outputs[i];
            }
        }
        return facts;
    }

    private static ValueFacts[]? TryInfer(Node node, NodeFacts inputs, long opset)
    {
        try
        {
            return ShapeRules.Infer(node, inputs, opset);
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentException or InvalidOperationException or OverflowException or KeyNotFoundException)
        {
            // A node the rules reject (or a variant they do not model): its outputs stay unknown.
            return null;
        }
    }

    /// <summary>Range(start, limit, delta) of integer scalars: ⌈(limit − start) / delta⌉ elements (at least 0).</summary>
    private static ValueFacts[]? Range(NodeFacts inputs)
    {
        if (inputs.Optional(0) is not { Ints: [var start] } first || inputs.Ints(1) is not [var limit] || inputs.Ints(2) is not [var delta] || delta == 0)
        {
            return null;
        }
        var count = Math.Max(0, (long)Math.Ceiling((limit - start) / (double)delta));
        if (count > ValueFacts.MaxTrackedInts)
        {
            return [new ValueFacts(first.Type, [count])];
        }
        var values = new long[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = start + (i * delta);
        }
        return [new ValueFacts(first.Type, [count], values)];
    }
}
