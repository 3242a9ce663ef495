using Google.Protobuf;

namespace SharpQuant;

/// <summary>Where a value is used: the consuming node and the input slot.</summary>
public readonly record struct Use(Node Node, int InputIndex);

/// <summary>
/// An edge of the graph: a named tensor with its element type and shape (either may be unknown),
/// the node that produces it (none for graph inputs and constants), and every use of it.
/// The graph keeps producer and uses current through its edit verbs.
/// </summary>
public sealed class Value
{
    private readonly List<Use> _uses = [];

    internal Value(Graph owner, string name)
    {
        Owner = owner;
        Name = name;
    }

    public Graph Owner { get; }
    public string Name { get; internal set; }
    public ElementType ElementType { get; set; } = ElementType.Undefined;
    public IReadOnlyList<Dim>? Shape { get; set; }

    /// <summary>The producing node; null for graph inputs and constants.</summary>
    public Node? Producer { get; internal set; }

    /// <summary>The tensor for a constant (an initializer or a folded Constant node); null otherwise.</summary>
    public Tensor? ConstantValue { get; internal set; }

    /// <summary>
    /// For a graph input that the file also gives an initializer (IR version 4 and later): the value ONNX Runtime
    /// uses when the input is not fed. The input stays an input (it is not a constant passes may fold).
    /// </summary>
    public Tensor? DefaultValue { get; internal set; }

    /// <summary>
    /// The file's type where it is not a plain tensor (a sequence, an optional, a map, a sparse tensor), kept as its
    /// TypeProto message so that the interface round-trips; null for tensors, whose type is <see cref="ElementType"/>.
    /// </summary>
    public IMessage? NonTensorType { get; internal set; }

    public bool IsConstant => ConstantValue is not null;
    public bool IsGraphInput => Owner.Inputs.Contains(this);
    public bool IsGraphOutput => Owner.Outputs.Contains(this);
    public IReadOnlyList<Use> Uses => _uses;

    /// <summary>The distinct nodes that read this value.</summary>
    public IEnumerable<Node> Consumers => _uses.Select(u => u.Node).Distinct();

    internal void AddUse(Node node, int index) => _uses.Add(new Use(node, index));

    internal void RemoveUse(Node node, int index) => _uses.Remove(new Use(node, index));

    /// <summary>Shape as known sizes; throws when a dimension is symbolic or unknown.</summary>
    public long[] ConcreteShape()
    {
        if (Shape is null || Shape.Any(d => !d.IsKnown))
        {
            throw new InvalidOperationException($"value '{Name}' has no concrete shape ({Shapes.Format(Shape)})");
        }
        return Shape.Select(d => d.Size!.Value).ToArray();
    }

    public override string ToString() => $"%{Name}";
}
