namespace SharpQuant;

/// <summary>
/// Which declared dimensions are batch axes, for <see cref="Graph.MakeBatchDynamic"/>. Nothing in a file says so;
/// the rule: dimension 0 of a graph input of rank 2 or more that has no default (a batch of samples, each with at
/// least one axis of its own: [N, C, H, W], [N, features], [N, tokens]), and dimension 0 of a graph output that
/// equals dimension 0 of such an input (the same size or symbol). A rank-1 input such as an [8] parameter vector,
/// an input with an initializer default, and an output whose first dimension is something else keep their dims.
/// </summary>
internal static class BatchAxes
{
    /// <summary>The smallest rank of an input whose dimension 0 is taken for a batch axis.</summary>
    public const int MinBatchedInputRank = 2;

    public static bool IsBatchedInput(Value input) =>
        input.Shape is { Count: >= MinBatchedInputRank } && input.DefaultValue is null && input.NonTensorType is null;

    /// <summary>The graph values whose dimension 0 is a batch axis: batched inputs, and outputs that share it.</summary>
    public static IReadOnlyList<Value> Of(Graph graph)
    {
        var inputs = graph.Inputs.Where(IsBatchedInput).ToList();
        var batchDims = inputs.Select(i => i.Shape![0]).ToHashSet();
        var outputs = graph.Outputs.Where(o => o.Shape is { Count: > 0 } shape && o.NonTensorType is null && batchDims.Contains(shape[0]));
        return inputs.Concat(outputs).Distinct().ToList();
    }
}
