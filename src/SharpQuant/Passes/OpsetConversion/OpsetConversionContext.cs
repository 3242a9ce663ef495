namespace SharpQuant.Passes.OpsetConversion;

/// <summary>
/// One opset raise in progress: the graph, the opsets it goes from and to, and the graph edits converters share
/// (constants of the right type, helper nodes named after the converted node, replacing a node by another op).
/// </summary>
internal sealed class OpsetConversionContext(Graph graph, long from, long to)
{
    public Graph Graph { get; } = graph;
    public long From { get; } = from;
    public long To { get; } = to;

    /// <summary>Ranks of values the file leaves without a shape.</summary>
    public RankInference Ranks { get; } = new();

    public Value Ints(Node node, string name, long[] values) =>
        Graph.AddConstant($"{BaseName(node)}.{name}", Tensor.Create(values, values.Length));

    /// <summary>A scalar constant of <paramref name="type"/> (float when the type is unknown), for bounds and pad values.</summary>
    public Value Scalar(Node node, string name, double value, ElementType type)
    {
        var tensor = type switch
        {
            ElementType.Double => Tensor.Create([value]),
            ElementType.Float16 => Tensor.Create([(Half)value]),
            ElementType.Int64 => Tensor.Create([(long)value]),
            ElementType.Int32 => Tensor.Create([(int)value]),
            ElementType.Int8 => Tensor.Create([(sbyte)value]),
            ElementType.UInt8 => Tensor.Create([(byte)value]),
            _ => Tensor.Create([(float)value]),
        };
        return Graph.AddConstant($"{BaseName(node)}.{name}", tensor.Reshape());
    }

    /// <summary>An empty float tensor: the placeholder opset 11 and 12 Resize need for roi and, with sizes, for scales.</summary>
    public Value EmptyFloats(Node node, string name) => Graph.AddConstant($"{BaseName(node)}.{name}", Tensor.FromFloats([], 0));

    /// <summary>A helper node named after <paramref name="owner"/>, placed next to it (the graph is sorted afterwards).</summary>
    public Node Add(Node owner, string opType, string suffix, IEnumerable<Value?> inputs, IReadOnlyDictionary<string, AttributeValue>? attributes = null, int outputCount = 1)
    {
        var node = Graph.AddNode(opType, inputs, outputCount, moduleName: $"{BaseName(owner)}.{suffix}", attributes: attributes, after: owner);
        node.Name = $"{NodeName(owner)}_{suffix}";
        return node;
    }

    /// <summary>A Squeeze or Unsqueeze in the target's form: axes an attribute before 13, an input from 13.</summary>
    public Node WithAxes(Node owner, string opType, string suffix, Value input, long[] axes)
    {
        var node = To >= 13
            ? Add(owner, opType, suffix, [input, Ints(owner, suffix + "_axes", axes)])
            : Add(owner, opType, suffix, [input], new Dictionary<string, AttributeValue> { ["axes"] = AttributeValue.Of(axes) });
        node.Output.ElementType = input.ElementType;
        return node;
    }

    /// <summary>
    /// Puts a node of another op in place of <paramref name="old"/>: same name, module name, doc string and metadata,
    /// outputs under the old output names (graph outputs keep their public names), and <paramref name="old"/> removed.
    /// </summary>
    public Node Replace(Node old, string opType, IEnumerable<Value?> inputs, IReadOnlyDictionary<string, AttributeValue>? attributes = null, int? outputCount = null)
    {
        var node = Graph.AddNode(opType, inputs, outputCount ?? old.Outputs.Count, moduleName: old.ModuleName, attributes: attributes, after: old);
        node.Name = old.Name;
        node.DocString = old.DocString;
        foreach (var (k, v) in old.Metadata)
        {
            node.Metadata[k] = v;
        }
        var names = old.Outputs.Select(o => o.Name).ToArray();
        for (var i = 0; i < node.Outputs.Count; i++)
        {
            node.Outputs[i].ElementType = old.Outputs[i].ElementType;
            node.Outputs[i].Shape = old.Outputs[i].Shape;
            Graph.ReplaceAllUsesWith(old.Outputs[i], node.Outputs[i]);
        }
        Graph.RemoveNode(old);
        for (var i = 0; i < node.Outputs.Count; i++)
        {
            if (node.Outputs[i].Name != names[i] && Graph.FindValue(names[i]) is null)
            {
                Graph.RenameValue(node.Outputs[i], names[i]);
            }
        }
        return node;
    }

    /// <summary>
    /// Makes <paramref name="replacement"/> take the place of <paramref name="old"/> (an output whose producer now
    /// computes an intermediate): uses and graph-output role move over, and the name follows where it is free.
    /// </summary>
    public void Reroute(Value old, Value replacement)
    {
        var name = old.Name;
        var wasOutput = old.IsGraphOutput;
        replacement.ElementType = old.ElementType;
        replacement.Shape = old.Shape;
        Graph.ReplaceAllUsesWith(old, replacement);
        if (!wasOutput)
        {
            // Keep the file's value name on the value that now carries its meaning (taps and messages use it).
            Graph.RenameValue(old, Graph.UniqueName(name + "_before_opset" + To));
            Graph.RenameValue(replacement, name);
        }
        old.Shape = null;
    }

    public UnsupportedOpException Refuse(Node node, string why) =>
        new(node.OpType, Graph.DisplayName(node), $"cannot raise the opset from {From} to {To}: {why}");

    private static string BaseName(Node node) => Graph.DisplayName(node);

    private static string NodeName(Node node) => node.Name.Length > 0 ? node.Name : Graph.DisplayName(node);
}
