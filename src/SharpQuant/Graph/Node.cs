namespace SharpQuant;

/// <summary>
/// An operation: op type and domain, inputs (a null slot is an omitted optional input), outputs,
/// typed attributes, the original ONNX node name and a readable <see cref="ModuleName"/>.
/// Inputs are changed only through <see cref="SetInput"/> so that uses stay current.
/// </summary>
public sealed class Node
{
    private readonly List<Value?> _inputs = [];
    private readonly List<Value> _outputs = [];

    internal Node(Graph owner, string opType, string domain, string name)
    {
        Owner = owner;
        OpType = opType;
        Domain = domain;
        Name = name;
        ModuleName = name;
    }

    public Graph Owner { get; }
    public string OpType { get; }

    /// <summary>The operator set domain; "" is the default ONNX domain.</summary>
    public string Domain { get; }

    /// <summary>The node name as it was in the file (may be empty).</summary>
    public string Name { get; set; }

    /// <summary>The dotted module path a user knows, such as <c>layer2.0.conv1</c> or <c>stage2.block0.conv1</c>.</summary>
    public string ModuleName { get; set; }

    public string? DocString { get; set; }

    public IReadOnlyList<Value?> Inputs => _inputs;
    public IReadOnlyList<Value> Outputs => _outputs;
    public Dictionary<string, AttributeValue> Attributes { get; } = new(StringComparer.Ordinal);

    /// <summary>Facts passes attach for later steps (for example the statistics of a folded BatchNorm).</summary>
    public Dictionary<string, object> Metadata { get; } = new(StringComparer.Ordinal);

    public Value Output => _outputs[0];

    public bool IsStandardOnnx => Domain is "" or "ai.onnx";

    /// <summary>Input i, or null when omitted or out of range.</summary>
    public Value? InputOrNull(int i) => i < _inputs.Count ? _inputs[i] : null;

    public Value Input(int i) => InputOrNull(i) ?? throw new InvalidOperationException($"node '{ModuleName}' ({OpType}) has no input {i}");

    public void SetInput(int index, Value? value)
    {
        while (_inputs.Count <= index)
        {
            _inputs.Add(null);
        }
        _inputs[index]?.RemoveUse(this, index);
        _inputs[index] = value;
        value?.AddUse(this, index);
        Owner.Touch();
    }

    public void AddInput(Value? value) => SetInput(_inputs.Count, value);

    internal void DetachInputs()
    {
        for (var i = 0; i < _inputs.Count; i++)
        {
            _inputs[i]?.RemoveUse(this, i);
            _inputs[i] = null;
        }
        _inputs.Clear();
    }

    internal void AddOutput(Value value)
    {
        value.Producer = this;
        _outputs.Add(value);
    }

    internal void ClearOutputs()
    {
        foreach (var o in _outputs)
        {
            o.Producer = null;
        }
        _outputs.Clear();
    }

    public long GetInt(string name, long fallback) => Attributes.TryGetValue(name, out var a) ? a.AsInt() : fallback;
    public float GetFloat(string name, float fallback) => Attributes.TryGetValue(name, out var a) ? a.AsFloat() : fallback;
    public string GetString(string name, string fallback) => Attributes.TryGetValue(name, out var a) ? a.AsString() : fallback;
    public long[]? GetInts(string name) => Attributes.TryGetValue(name, out var a) ? a.AsInts() : null;

    public void SetAttribute(string name, AttributeValue value)
    {
        Attributes[name] = value;
        Owner.Touch();
    }

    /// <summary>The constant tensor at input i, or null if that input is not a constant.</summary>
    public Tensor? ConstantInput(int i) => InputOrNull(i)?.ConstantValue;

    public override string ToString() => $"{ModuleName} ({OpType})";
}
