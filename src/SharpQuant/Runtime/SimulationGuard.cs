namespace SharpQuant.Runtime;

/// <summary>
/// Refuses to hand ONNX Runtime a graph that still holds SharpQuant's own ops: ORT would fail with "No opset import
/// for domain 'sharpquant'", which does not say that the simulation has its own executor that lowers them.
/// </summary>
internal static class SimulationGuard
{
    public static void EnsureRunnable(Graph graph)
    {
        if (graph.Nodes.FirstOrDefault(n => n.Domain == OnnxOps.SharpQuantDomain) is { } node)
        {
            throw new SharpQuantException(
                $"the graph holds SharpQuant's own op {node.Domain}.{node.OpType} ('{node.Name}'), which ONNX Runtime cannot run; " +
                "run a quantization simulation with sim.CreateExecutor(), which lowers it to standard ONNX ops");
        }
    }
}
