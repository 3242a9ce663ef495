namespace SharpQuant.Passes;

/// <summary>The passes as a fluent API: <c>OnnxModel.Load(path).FoldBatchNorm().Equalize()</c>.</summary>
public static class GraphPassExtensions
{
    public static Graph FoldBatchNorm(this Graph graph) => new FoldBatchNorm().Run(graph).Graph;

    public static Graph FoldBatchNorm(this Graph graph, out FoldReport report)
    {
        var result = new FoldBatchNorm().Run(graph);
        report = result.Report;
        return result.Graph;
    }

    public static Graph Equalize(this Graph graph, EqualizationOptions? options = null) =>
        new EqualizeCrossLayer(options).Run(graph).Graph;

    public static Graph Equalize(this Graph graph, EqualizationOptions? options, out EqualizeReport report)
    {
        var result = new EqualizeCrossLayer(options).Run(graph);
        report = result.Report;
        return result.Graph;
    }

    public static Graph AbsorbHighBias(this Graph graph, AbsorbHighBiasOptions? options = null) =>
        new AbsorbHighBias(options).Run(graph).Graph;

    public static EqualizationSetsReport FindEqualizationSets(this Graph graph, Relu6Mode relu6 = Relu6Mode.Exact) =>
        EqualizationSetFinder.Find(graph, relu6);
}
