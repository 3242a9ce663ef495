namespace SharpQuant.Runtime;

/// <summary>The tensors one run produced: the graph outputs and any requested taps, by value name.</summary>
public sealed class RunResult
{
    private readonly Dictionary<string, Tensor> _values;

    internal RunResult(Dictionary<string, Tensor> values, IReadOnlyList<string> outputNames)
    {
        _values = values;
        OutputNames = outputNames;
    }

    public IReadOnlyList<string> OutputNames { get; }
    public IReadOnlyDictionary<string, Tensor> Values => _values;

    /// <summary>The first graph output.</summary>
    public Tensor Output => _values[OutputNames[0]];

    public Tensor this[string name] =>
        _values.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"the run produced no value named '{name}'");
}
