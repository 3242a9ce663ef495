namespace SharpQuant.Passes.Normalization;

/// <summary>Normalization in the fluent API: <c>OnnxModel.Load(path).Normalize().FoldBatchNorm()</c>.</summary>
public static class NormalizeGraphExtensions
{
    public static Graph Normalize(this Graph graph) => new NormalizeGraph().Run(graph).Graph;

    public static Graph Normalize(this Graph graph, out NormalizeReport report)
    {
        var result = new NormalizeGraph().Run(graph);
        report = result.Report;
        return result.Graph;
    }
}
