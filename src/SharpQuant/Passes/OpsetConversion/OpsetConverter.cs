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

    private const string UnknownOp = "SharpQuant does not know how this op changed between opsets";

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
        // Check every node first, so a refused op leaves the graph as it was (a refusal inside an If, Loop or Scan body
        // comes while that body is converted, after the nodes before it).
        foreach (var node in nodes)
        {
            var history = OpHistories.Find(node.OpType) ?? throw context.Refuse(node, UnknownOp);
            if (history.NeedsConversion(from, target) && history.Converter!.Refusal(context, node) is { } why)
            {
                throw context.Refuse(node, why);
            }
            CheckSubgraphs(context, node);
        }
        foreach (var node in nodes)
        {
            if (node.Attributes.Values.Any(a => a.Kind is AttributeKind.Graph or AttributeKind.Graphs))
            {
                SubgraphConverter.Raise(context, node);
            }
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

    /// <summary>Bodies (If, Loop, Scan) are raised with the graph: their ops must be known and expressible too.</summary>
    private static void CheckSubgraphs(OpsetConversionContext context, Node node)
    {
        foreach (var inner in SubgraphConverter.NodesInside(node).Where(n => n.Domain is "" or "ai.onnx"))
        {
            if (OpHistories.Find(inner.OpType) is null)
            {
                throw context.Refuse(node, $"its body has a {inner.OpType} node ('{inner.Name}'): {UnknownOp}");
            }
        }
    }
}
