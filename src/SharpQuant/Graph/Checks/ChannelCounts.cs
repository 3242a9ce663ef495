namespace SharpQuant.Checks;

/// <summary>
/// The channel count (dimension 1) of each value, where the file declares it or where it follows from the layers:
/// a Conv makes as many channels as its weight has rows, and channel-preserving ops (activations, BatchNorm, pools,
/// Dropout) pass them on. One pass in topological order, so a long chain costs linear time.
/// </summary>
internal sealed class ChannelCounts
{
    private readonly Dictionary<Value, long> _channels = new(ReferenceEqualityComparer.Instance);

    public ChannelCounts(Graph graph)
    {
        foreach (var node in graph.Nodes)
        {
            foreach (var output in node.Outputs)
            {
                if (Declared(output) is { } declared)
                {
                    _channels[output] = declared;
                }
            }
            if (node.Outputs.Count == 0 || _channels.ContainsKey(node.Outputs[0]) || !node.IsStandardOnnx)
            {
                continue;
            }
            if (Produced(node) is { } produced)
            {
                _channels[node.Outputs[0]] = produced;
            }
        }
    }

    public long? Of(Value? value) =>
        value is null ? null : _channels.TryGetValue(value, out var c) ? c : Declared(value);

    private static long? Declared(Value value) => value.Shape is { Count: >= 2 } shape ? shape[1].Size : null;

    private long? Produced(Node node)
    {
        switch (node.OpType)
        {
            case "Conv" when NodeCheck.KnownShapeOf(node.InputOrNull(1)) is { Count: >= 3 } w:
                return w[0];
            case "ConvTranspose" when NodeCheck.KnownShapeOf(node.InputOrNull(1)) is { Count: >= 3 } w:
                return w[1] * (node.Attributes.TryGetValue("group", out var g) && g.Value is long group ? group : 1);
            case "Relu" or "LeakyRelu" or "PRelu" or "Sigmoid" or "Tanh" or "HardSwish" or "HardSigmoid" or "Clip" or "Identity"
                or "Dropout" or "BatchNormalization" or "MaxPool" or "AveragePool" or "GlobalAveragePool" or "GlobalMaxPool" or "Elu":
                return Of(node.InputOrNull(0));
            default:
                return null;
        }
    }
}
