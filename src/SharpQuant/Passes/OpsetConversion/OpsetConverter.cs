using Google.Protobuf;
using Proto = global::Onnx;

namespace SharpQuant.Passes.OpsetConversion;

/// <summary>
/// Raises the default-domain opset node by node through the registry (<see cref="OpHistories"/>): each op whose
/// inputs, attributes or meaning changed in between is rewritten by its converter; ops that changed compatibly are
/// kept. An op the registry does not know, or one whose old meaning has no expression at the target, is an error
/// that names the op, the node and why.
/// </summary>
internal static class OpsetConverter
{
    /// <summary>The highest opset the converters write.</summary>
    public const long MaxTarget = 13;

    public static void Raise(Graph graph, long target)
    {
        var from = graph.Info.OnnxOpset;
        if (from >= target)
        {
            return;
        }
        if (target > MaxTarget)
        {
            throw new SharpQuantException($"raising the opset beyond {MaxTarget} is not supported (asked for {target})");
        }
        var context = new OpsetConversionContext(graph, from, target);
        var nodes = graph.Nodes.Where(n => n.IsStandardOnnx).ToList();
        // Check every node first, so a refused op leaves the graph as it was (converters check their own node before editing).
        foreach (var node in nodes)
        {
            var history = OpHistories.Find(node.OpType)
                ?? throw context.Refuse(node, "SharpQuant does not know how this op changed between opsets");
            if (history.Converter is RefusingConverter refusing && history.NeedsConversion(from, target))
            {
                throw context.Refuse(node, refusing.Reason);
            }
            CheckSubgraphs(context, node);
        }
        foreach (var node in nodes)
        {
            var history = OpHistories.Find(node.OpType)!;
            if (history.NeedsConversion(from, target))
            {
                history.Converter!.Convert(context, node);
            }
        }
        graph.Info.OnnxOpset = target;
        if (graph.Info.IrVersion < 7)
        {
            // Opset 13 needs IR version 7 (opset 11: 6, opset 10: 5); 7 serves every target.
            graph.Info.IrVersion = 7;
        }
        graph.SortTopologically();
        graph.Validate();
    }

    /// <summary>Subgraphs (If, Loop) follow the model's opset too; the converters do not rewrite inside them, so an op there that would need it is refused.</summary>
    private static void CheckSubgraphs(OpsetConversionContext context, Node node)
    {
        foreach (var attribute in node.Attributes.Values)
        {
            var graphs = attribute.Value switch
            {
                Proto.GraphProto g => [g],
                IMessage[] messages => messages.OfType<Proto.GraphProto>().ToArray(),
                _ => [],
            };
            foreach (var inner in graphs.SelectMany(g => g.Node).Where(n => n.Domain is "" or "ai.onnx"))
            {
                var history = OpHistories.Find(inner.OpType);
                if (history is null || history.NeedsConversion(context.From, context.To))
                {
                    throw context.Refuse(node, $"its subgraph has a {inner.OpType} node ('{inner.Name}') that would need rewriting, which SharpQuant does not do inside subgraphs");
                }
            }
        }
    }
}

/// <summary>Stands for ops whose old form cannot be expressed at the target: the reason is the error.</summary>
internal sealed class RefusingConverter(string reason) : IOpConverter
{
    public string Reason { get; } = reason;

    public void Convert(OpsetConversionContext context, Node node) => throw context.Refuse(node, Reason);
}
