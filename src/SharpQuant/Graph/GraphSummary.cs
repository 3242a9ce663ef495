namespace SharpQuant;

/// <summary>A graph input or output as shown in summaries.</summary>
public sealed record ValueSummary(string Name, string ElementType, string Shape);

/// <summary>What <c>sharpquant inspect</c> reports about a model.</summary>
public sealed record GraphSummary(
    string GraphName,
    string Producer,
    long IrVersion,
    IReadOnlyDictionary<string, long> Opsets,
    IReadOnlyList<ValueSummary> Inputs,
    IReadOnlyList<ValueSummary> Outputs,
    int NodeCount,
    IReadOnlyDictionary<string, int> OpCounts,
    long ParameterCount,
    long ParameterBytes,
    IReadOnlyList<string> UnknownOps)
{
    public static GraphSummary Of(Graph graph)
    {
        var info = graph.Info;
        var producer = string.Join(' ', new[] { info.ProducerName, info.ProducerVersion }.Where(s => s.Length > 0));
        // Parameters: floating-point constants that some node reads (weights, biases, BN statistics).
        var parameters = graph.Constants.Where(c => c.Uses.Count > 0 && c.ConstantValue!.ElementType.IsFloatingPoint()).ToList();
        return new GraphSummary(
            info.GraphName,
            producer.Length > 0 ? producer : "(unknown)",
            info.IrVersion,
            info.Opsets.ToDictionary(kv => kv.Key.Length == 0 ? "ai.onnx" : kv.Key, kv => kv.Value),
            graph.Inputs.Select(Describe).ToArray(),
            graph.Outputs.Select(Describe).ToArray(),
            graph.Nodes.Count,
            graph.Nodes.GroupBy(n => n.IsStandardOnnx ? n.OpType : $"{n.Domain}.{n.OpType}")
                .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Count()),
            parameters.Sum(c => c.ConstantValue!.ElementCount),
            parameters.Sum(c => c.ConstantValue!.ByteCount),
            OnnxOps.UnknownNodes(graph).Select(n => $"{(n.IsStandardOnnx ? n.OpType : n.Domain + "." + n.OpType)} at '{Graph.DisplayName(n)}'").ToArray());
    }

    // A sequence, optional or map shows its whole type (its elements' shape included); it has no shape of its own.
    private static ValueSummary Describe(Value v) => v.NonTensorType is { } type
        ? new(v.Name, Onnx.TypeProtoText.Format(type), "-")
        : new(v.Name, v.ElementType.DisplayName(), Shapes.Format(v.Shape));
}
