using Google.Protobuf;

namespace SharpQuant;

public sealed partial class Graph
{
    /// <summary>
    /// A deep copy: new nodes and values with the same names, module names, attributes and metadata, and
    /// copies of every constant tensor, so passes can work on the copy and leave their input untouched.
    /// </summary>
    public Graph Clone()
    {
        var copy = new Graph(Info.Clone()) { _nameCounter = _nameCounter };
        var map = new Dictionary<Value, Value>(ReferenceEqualityComparer.Instance);
        foreach (var v in _values.Values)
        {
            if (v.Producer is not null)
            {
                continue;
            }
            var c = copy.CreateValue(v.Name);
            CopyValueFacts(v, c);
            if (v.ConstantValue is not null)
            {
                c.ConstantValue = v.ConstantValue.Clone();
            }
            map[v] = c;
        }
        foreach (var input in _inputs)
        {
            copy._inputs.Add(map[input]);
        }
        foreach (var node in _nodes)
        {
            var n = copy.AddNodeWithOutputs(node.OpType, node.Domain, node.Name, node.Inputs.Select(i => i is null ? null : map[i]), node.Outputs.Select(o => o.Name));
            n.ModuleName = node.ModuleName;
            n.DocString = node.DocString;
            foreach (var (k, a) in node.Attributes)
            {
                n.Attributes[k] = a.DeepCopy();
            }
            foreach (var (k, m) in node.Metadata)
            {
                n.Metadata[k] = m;
            }
            for (var i = 0; i < node.Outputs.Count; i++)
            {
                CopyValueFacts(node.Outputs[i], n.Outputs[i]);
                map[node.Outputs[i]] = n.Outputs[i];
            }
        }
        foreach (var output in _outputs)
        {
            copy._outputs.Add(map[output]);
        }
        copy.Version = 0;
        return copy;
    }

    private static void CopyValueFacts(Value from, Value to)
    {
        to.ElementType = from.ElementType;
        to.Shape = from.Shape?.ToArray();
        to.DefaultValue = from.DefaultValue?.Clone();
        to.NonTensorType = from.NonTensorType?.Descriptor.Parser.ParseFrom(from.NonTensorType.ToByteString());
    }

    /// <summary>
    /// Orders the nodes so every node comes after the producers of its inputs, keeping the existing order
    /// where it is already valid. A cycle is an error that names the nodes on it.
    /// </summary>
    public void SortTopologically()
    {
        var index = new Dictionary<Node, int>(ReferenceEqualityComparer.Instance);
        for (var i = 0; i < _nodes.Count; i++)
        {
            index[_nodes[i]] = i;
        }
        var pending = new int[_nodes.Count];
        var dependents = new List<int>[_nodes.Count];
        for (var i = 0; i < _nodes.Count; i++)
        {
            dependents[i] = [];
        }
        for (var i = 0; i < _nodes.Count; i++)
        {
            foreach (var producer in _nodes[i].Inputs.Where(v => v?.Producer is not null).Select(v => v!.Producer!).Distinct())
            {
                if (!index.TryGetValue(producer, out var p))
                {
                    continue;
                }
                pending[i]++;
                dependents[p].Add(i);
            }
        }
        // A min-heap on the original position keeps a sorted file unchanged.
        var ready = new PriorityQueue<int, int>();
        for (var i = 0; i < _nodes.Count; i++)
        {
            if (pending[i] == 0)
            {
                ready.Enqueue(i, i);
            }
        }
        var order = new List<Node>(_nodes.Count);
        while (ready.TryDequeue(out var i, out _))
        {
            order.Add(_nodes[i]);
            foreach (var d in dependents[i])
            {
                if (--pending[d] == 0)
                {
                    ready.Enqueue(d, d);
                }
            }
        }
        if (order.Count != _nodes.Count)
        {
            var stuck = _nodes.Where((_, i) => pending[i] > 0).Take(5).Select(n => $"'{DisplayName(n)}' ({n.OpType})");
            throw new GraphValidationException($"the graph has a cycle through {string.Join(", ", stuck)}");
        }
        _nodes.Clear();
        _nodes.AddRange(order);
        Touch();
    }

    /// <summary>
    /// Checks the IR invariants: unique names, each input defined before it is read (a constant, a graph input
    /// or the output of an earlier node), uses that match inputs, and outputs that exist.
    /// </summary>
    public void Validate()
    {
        var defined = new HashSet<Value>(ReferenceEqualityComparer.Instance);
        foreach (var v in _values.Values.Where(v => v.IsConstant))
        {
            defined.Add(v);
        }
        foreach (var input in _inputs)
        {
            if (!defined.Add(input) && !input.IsConstant)
            {
                throw new GraphValidationException($"graph input '{input.Name}' is listed twice");
            }
        }
        foreach (var node in _nodes)
        {
            if (!ReferenceEquals(node.Owner, this))
            {
                throw new GraphValidationException($"node '{DisplayName(node)}' belongs to another graph");
            }
            for (var i = 0; i < node.Inputs.Count; i++)
            {
                var input = node.Inputs[i];
                if (input is null)
                {
                    continue;
                }
                if (!defined.Contains(input))
                {
                    var why = input.Producer is null
                        ? "nothing produces it"
                        : $"its producer '{DisplayName(input.Producer)}' comes later (not in topological order)";
                    throw new GraphValidationException(
                        $"node '{DisplayName(node)}' ({node.OpType}) reads '{input.Name}', but {why}");
                }
                if (!input.Uses.Contains(new Use(node, i)))
                {
                    throw new GraphValidationException($"value '{input.Name}' does not list its use by '{DisplayName(node)}'");
                }
            }
            foreach (var output in node.Outputs)
            {
                if (!ReferenceEquals(output.Producer, node))
                {
                    throw new GraphValidationException($"output '{output.Name}' of '{DisplayName(node)}' names another producer");
                }
                if (!defined.Add(output))
                {
                    throw new GraphValidationException($"value '{output.Name}' is assigned more than once");
                }
            }
        }
        var nodes = new HashSet<Node>(_nodes, ReferenceEqualityComparer.Instance);
        foreach (var v in _values.Values)
        {
            foreach (var use in v.Uses)
            {
                if (!ReferenceEquals(use.Node.InputOrNull(use.InputIndex), v) || !nodes.Contains(use.Node))
                {
                    throw new GraphValidationException($"value '{v.Name}' lists a stale use by '{DisplayName(use.Node)}'");
                }
            }
        }
        foreach (var output in _outputs)
        {
            if (!defined.Contains(output))
            {
                throw new GraphValidationException($"graph output '{output.Name}' is never produced");
            }
        }
    }

    /// <summary>The best name for messages: the module name, else the file's node name, else the first output.</summary>
    public static string DisplayName(Node node) =>
        node.ModuleName.Length > 0 ? node.ModuleName
        : node.Name.Length > 0 ? node.Name
        : node.Outputs.Count > 0 ? node.Outputs[0].Name : node.OpType;
}

public sealed partial class Graph
{
    /// <summary>
    /// Lets the graph take any batch size: the first dimension of every batch axis (<see cref="BatchAxes"/>: inputs
    /// of rank 2 or more without a default, and the outputs that share their first dimension) becomes the symbol
    /// <paramref name="symbol"/>, and recorded shapes of intermediate values are dropped (ONNX Runtime infers them).
    /// Models exported with batch 1 (such as the default ResNet18) can then calibrate and evaluate in batches; other
    /// inputs and outputs (an [8] parameter vector, say) keep their declared dims.
    /// </summary>
    public void MakeBatchDynamic(string symbol = "N")
    {
        foreach (var v in BatchAxes.Of(this))
        {
            if (v.Shape is { Count: > 0 } shape)
            {
                v.Shape = shape.Select((d, i) => i == 0 ? Dim.Named(symbol) : d).ToArray();
            }
        }
        foreach (var node in _nodes)
        {
            foreach (var output in node.Outputs.Where(o => !_outputs.Contains(o)))
            {
                output.Shape = null;
            }
        }
        Touch();
    }
}
