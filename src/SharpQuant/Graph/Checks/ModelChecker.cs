namespace SharpQuant.Checks;

/// <summary>
/// Checks a freshly imported graph against the rules ONNX Runtime enforces for the ops SharpQuant edits, so a model
/// it would refuse is refused on load (by every command, including those that never run it) with one line naming
/// the node and the rule, instead of failing inside a pass or being written back as if it were valid.
/// </summary>
internal static class ModelChecker
{
    public static void Check(Graph graph)
    {
        var opset = graph.Info.OnnxOpset;
        OpDomains.Check(graph);
        foreach (var node in graph.Nodes)
        {
            var check = new NodeCheck(node, opset);
            OpArity.Check(check);
            AttributeRules.Check(check);
            ElementTypeRules.Check(check);
        }
        // Shape rules read attributes (group) that the loop above has checked, and channel counts of the whole graph.
        var channels = new ChannelCounts(graph);
        foreach (var node in graph.Nodes)
        {
            var check = new NodeCheck(node, opset, channels);
            LayerShapeRules.Check(check);
            FiniteParameters.Check(check);
        }
    }
}
