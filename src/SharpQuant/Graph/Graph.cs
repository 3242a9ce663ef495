namespace SharpQuant;

/// <summary>
/// The IR: graph inputs and outputs, nodes in topological order, and constants. Every edit goes through a
/// few verbs (<see cref="AddNode"/>, <see cref="ReplaceAllUsesWith"/>, <see cref="RemoveNode"/>, ...) that keep
/// producers and uses current and bump <see cref="Version"/>, which executors use to know when to rebuild.
/// </summary>
public sealed partial class Graph
{
    private readonly List<Node> _nodes = [];
    private readonly List<Value> _inputs = [];
    private readonly List<Value> _outputs = [];
    private readonly Dictionary<string, Value> _values = new(StringComparer.Ordinal);
    private long _nameCounter;

    public Graph(ModelInfo? info = null)
    {
        Info = info ?? new ModelInfo();
    }

    public ModelInfo Info { get; }
    public IReadOnlyList<Node> Nodes => _nodes;
    public IReadOnlyList<Value> Inputs => _inputs;
    public IReadOnlyList<Value> Outputs => _outputs;
    public IEnumerable<Value> Values => _values.Values;
    public IEnumerable<Value> Constants => _values.Values.Where(v => v.IsConstant);

    /// <summary>Increases with every edit; cached lowerings compare it.</summary>
    public long Version { get; private set; }

    internal void Touch() => Version++;

    public Value? FindValue(string name) => _values.GetValueOrDefault(name);

    public Value GetValue(string name) =>
        FindValue(name) ?? throw new KeyNotFoundException($"graph has no value named '{name}'");

    /// <summary>The first node whose module name, or else original name, is <paramref name="name"/>.</summary>
    public Node? FindNode(string name) =>
        _nodes.FirstOrDefault(n => n.ModuleName == name) ?? _nodes.FirstOrDefault(n => n.Name == name);

    public IEnumerable<Node> NodesOfType(string opType) => _nodes.Where(n => n.OpType == opType);

    /// <summary>A name no value of this graph has yet, derived from <paramref name="hint"/>.</summary>
    public string UniqueName(string hint)
    {
        if (!_values.ContainsKey(hint) && hint.Length > 0)
        {
            return hint;
        }
        string candidate;
        do
        {
            candidate = $"{hint}__{++_nameCounter}";
        }
        while (_values.ContainsKey(candidate));
        return candidate;
    }

    private Value CreateValue(string name)
    {
        if (_values.ContainsKey(name))
        {
            throw new GraphValidationException($"value '{name}' is assigned more than once");
        }
        var value = new Value(this, name);
        _values.Add(name, value);
        return value;
    }

    public Value AddInput(string name, ElementType type, IReadOnlyList<Dim>? shape)
    {
        var value = CreateValue(name);
        value.ElementType = type;
        value.Shape = shape;
        _inputs.Add(value);
        Touch();
        return value;
    }

    /// <summary>Adds a constant (an initializer on export) under a fresh name derived from <paramref name="nameHint"/>.</summary>
    public Value AddConstant(string nameHint, Tensor tensor)
    {
        var value = CreateValue(UniqueName(nameHint));
        SetConstantValue(value, tensor);
        Touch();
        return value;
    }

    /// <summary>Adds a constant under exactly <paramref name="name"/> (importers keep file names).</summary>
    internal Value AddConstantNamed(string name, Tensor tensor)
    {
        var value = CreateValue(name);
        SetConstantValue(value, tensor);
        return value;
    }

    /// <summary>Replaces the tensor of a constant (shape and type follow the new tensor).</summary>
    public void SetConstantValue(Value value, Tensor tensor)
    {
        if (value.Producer is not null || value.IsGraphInput)
        {
            throw new InvalidOperationException($"value '{value.Name}' is computed, not a constant");
        }
        value.ConstantValue = tensor;
        value.ElementType = tensor.ElementType;
        value.Shape = tensor.Shape.Select(Dim.Of).ToArray();
        Touch();
    }

    public void AddOutput(Value value)
    {
        _outputs.Add(value);
        Touch();
    }

    public void SetOutput(int index, Value value)
    {
        _outputs[index] = value;
        Touch();
    }

    /// <summary>
    /// Creates a node and places it: after <paramref name="after"/> when given, else before the first node
    /// that reads one of its outputs (none yet, so at the end).
    /// </summary>
    public Node AddNode(
        string opType,
        IEnumerable<Value?> inputs,
        int outputCount = 1,
        string? moduleName = null,
        IReadOnlyDictionary<string, AttributeValue>? attributes = null,
        string domain = "",
        Node? after = null)
    {
        var name = moduleName ?? opType;
        var node = new Node(this, opType, domain, name) { ModuleName = name };
        foreach (var input in inputs)
        {
            node.AddInput(input);
        }
        for (var i = 0; i < outputCount; i++)
        {
            var outputName = UniqueName(outputCount == 1 ? $"{name}_output" : $"{name}_output{i}");
            node.AddOutput(CreateValue(outputName));
        }
        if (attributes is not null)
        {
            foreach (var (k, v) in attributes)
            {
                node.Attributes[k] = v;
            }
        }
        var position = after is null ? _nodes.Count : _nodes.IndexOf(after) + 1;
        if (after is not null && position == 0)
        {
            throw new ArgumentException($"node '{after.ModuleName}' is not in this graph", nameof(after));
        }
        _nodes.Insert(position, node);
        Touch();
        return node;
    }

    /// <summary>Adds a node whose outputs have the given names (used by importers and exact rebuilds).</summary>
    internal Node AddNodeWithOutputs(string opType, string domain, string name, IEnumerable<Value?> inputs, IEnumerable<string> outputNames)
    {
        var node = new Node(this, opType, domain, name);
        foreach (var input in inputs)
        {
            node.AddInput(input);
        }
        foreach (var outputName in outputNames)
        {
            node.AddOutput(CreateValue(outputName));
        }
        _nodes.Add(node);
        Touch();
        return node;
    }

    /// <summary>Reads <paramref name="replacement"/> wherever <paramref name="old"/> was read, graph outputs included.</summary>
    public void ReplaceAllUsesWith(Value old, Value replacement)
    {
        if (ReferenceEquals(old, replacement))
        {
            return;
        }
        foreach (var use in old.Uses.ToArray())
        {
            use.Node.SetInput(use.InputIndex, replacement);
        }
        for (var i = 0; i < _outputs.Count; i++)
        {
            if (ReferenceEquals(_outputs[i], old))
            {
                // Graph outputs keep their public name: the replacement takes it over.
                var alreadyPublic = _outputs.Contains(replacement);
                _outputs[i] = replacement;
                if (!alreadyPublic)
                {
                    RenameOutputValue(old, replacement);
                }
            }
        }
        Touch();
    }

    private void RenameOutputValue(Value old, Value replacement)
    {
        if (replacement.IsConstant || replacement.IsGraphInput)
        {
            return;
        }
        var publicName = old.Name;
        var freed = UniqueName(old.Name + "_replaced");
        _values.Remove(old.Name);
        old.Name = freed;
        _values[freed] = old;
        _values.Remove(replacement.Name);
        replacement.Name = publicName;
        _values[publicName] = replacement;
    }

    /// <summary>Gives a computed value a new name that no other value has.</summary>
    public void RenameValue(Value value, string name)
    {
        if (_values.ContainsKey(name))
        {
            throw new InvalidOperationException($"a value named '{name}' already exists");
        }
        _values.Remove(value.Name);
        value.Name = name;
        _values[name] = value;
        Touch();
    }

    /// <summary>Removes a node whose outputs nobody reads any more.</summary>
    public void RemoveNode(Node node)
    {
        foreach (var output in node.Outputs)
        {
            if (output.Uses.Count > 0 || _outputs.Contains(output))
            {
                throw new InvalidOperationException(
                    $"cannot remove '{node.ModuleName}' ({node.OpType}): its output '{output.Name}' is still used");
            }
        }
        node.DetachInputs();
        foreach (var output in node.Outputs)
        {
            _values.Remove(output.Name);
        }
        node.ClearOutputs();
        _nodes.Remove(node);
        Touch();
    }

    /// <summary>Removes constants and nodes nothing reads (dead code), keeping graph inputs and outputs.</summary>
    /// <param name="keep">Values to keep as if something read them (values about to be tapped), with what computes them.</param>
    public int RemoveUnused(IReadOnlyCollection<string>? keep = null)
    {
        var removed = 0;
        for (var i = _nodes.Count - 1; i >= 0; i--)
        {
            var node = _nodes[i];
            if (node.Outputs.All(o => o.Uses.Count == 0 && !_outputs.Contains(o) && keep?.Contains(o.Name) != true) && !HasSideEffects(node))
            {
                RemoveNode(node);
                removed++;
            }
        }
        foreach (var constant in _values.Values.Where(v => v.IsConstant && v.Uses.Count == 0 && !_outputs.Contains(v)).ToArray())
        {
            _values.Remove(constant.Name);
            removed++;
        }
        if (removed > 0)
        {
            Touch();
        }
        return removed;
    }

    // Nodes holding subgraphs may read outer values we do not track; keep them.
    private static bool HasSideEffects(Node node) =>
        node.Attributes.Values.Any(a => a.Kind is AttributeKind.Graph or AttributeKind.Graphs);

    /// <summary>Moves <paramref name="node"/> to just before <paramref name="anchor"/> in the node order.</summary>
    public void MoveBefore(Node node, Node anchor)
    {
        _nodes.Remove(node);
        _nodes.Insert(_nodes.IndexOf(anchor), node);
        Touch();
    }

    /// <summary>Moves <paramref name="node"/> to just after <paramref name="anchor"/> in the node order.</summary>
    public void MoveAfter(Node node, Node anchor)
    {
        _nodes.Remove(node);
        _nodes.Insert(_nodes.IndexOf(anchor) + 1, node);
        Touch();
    }
}
