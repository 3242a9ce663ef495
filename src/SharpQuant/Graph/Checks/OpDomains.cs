namespace SharpQuant.Checks;

/// <summary>
/// Which ops a model may use: the default ONNX domain's ops by name (<see cref="OnnxOps.Standard"/>), SharpQuant's own
/// domain, the other domains ONNX and ONNX Runtime define (ai.onnx.ml, ai.onnx.preview.training, com.microsoft; their
/// ops are left to ONNX Runtime), and functions the model itself defines. Any other op or domain is one ONNX Runtime
/// cannot run, and SharpQuant would write it back as if it were fine.
/// </summary>
internal static class OpDomains
{
    private static readonly HashSet<string> RuntimeDomains = new(StringComparer.Ordinal)
    {
        "ai.onnx.ml", "ai.onnx.preview.training", "com.microsoft", OnnxOps.SharpQuantDomain,
    };

    public static void Check(Graph graph)
    {
        var functions = graph.Info.Functions.OfType<global::Onnx.FunctionProto>().Select(f => (f.Domain, f.Name)).ToHashSet();
        foreach (var node in graph.Nodes)
        {
            if (functions.Contains((node.Domain, node.OpType)))
            {
                continue;
            }
            if (node.IsStandardOnnx)
            {
                if (!OnnxOps.Standard.Contains(node.OpType))
                {
                    throw new InvalidModelException($"unknown op '{node.OpType}' in node '{NodeCheck.LabelOf(node)}'");
                }
                continue;
            }
            if (!RuntimeDomains.Contains(node.Domain))
            {
                throw new InvalidModelException($"node '{NodeCheck.LabelOf(node)}' uses op '{node.OpType}' of the unknown domain '{node.Domain}'");
            }
            if (!graph.Info.Opsets.ContainsKey(node.Domain) && node.Domain != OnnxOps.SharpQuantDomain)
            {
                throw new InvalidModelException($"node '{NodeCheck.LabelOf(node)}' uses domain '{node.Domain}', which the model does not import (no opset for it)");
            }
        }
    }
}
