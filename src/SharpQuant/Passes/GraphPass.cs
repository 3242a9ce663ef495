namespace SharpQuant.Passes;

/// <summary>What a pass returns: the resulting graph, whether anything changed, and the pass's typed report.</summary>
public sealed record PassResult<TReport>(Graph Graph, bool Changed, TReport Report);

/// <summary>
/// A graph transformation with the ONNX IR pass contract: preconditions are checked on the input, the work is done
/// on a copy unless the pass says it works <see cref="InPlace"/>, and the result is validated before it is returned.
/// </summary>
public abstract class GraphPass<TReport>
{
    /// <summary>A name for reports and errors.</summary>
    public abstract string Name { get; }

    /// <summary>True when the pass edits the graph it is given instead of a copy.</summary>
    public virtual bool InPlace => false;

    public PassResult<TReport> Run(Graph graph)
    {
        graph.Validate();
        CheckPreconditions(graph);
        var target = InPlace ? graph : graph.Clone();
        var before = target.Version;
        var report = Apply(target);
        target.Validate();
        return new PassResult<TReport>(target, target.Version != before, report);
    }

    /// <summary>Throws when the graph is not something this pass can work on.</summary>
    protected virtual void CheckPreconditions(Graph graph)
    {
    }

    /// <summary>Does the work on <paramref name="graph"/> (already a copy unless in place) and says what it did.</summary>
    protected abstract TReport Apply(Graph graph);
}
