namespace SharpQuant.Checks;

/// <summary>
/// One node under check: its label for messages (the file's node name, else its first output, so the user can find
/// it in the file) and a way to refuse it with one line that names the node, its op and the broken rule.
/// </summary>
internal readonly record struct NodeCheck(Node Node, long Opset, ChannelCounts? Channels = null)
{
    public string Label => LabelOf(Node);

    public static string LabelOf(Node node) =>
        node.Name.Length > 0 ? node.Name : node.Outputs.Count > 0 ? node.Outputs[0].Name : node.OpType;

    public InvalidModelException Fail(string problem) => new($"node '{Label}' ({Node.OpType}): {problem}");

    /// <summary>The input at <paramref name="index"/> when it is present (not omitted).</summary>
    public Value? Input(int index) => Node.InputOrNull(index);

    public IReadOnlyList<long>? KnownShape(int index) => KnownShapeOf(Node.InputOrNull(index));

    /// <summary>The declared dimensions of input <paramref name="index"/> (null where symbolic), or null when its shape is unknown.</summary>
    public long?[]? Dims(int index) => Node.InputOrNull(index)?.Shape?.Select(d => d.Size).ToArray();

    /// <summary>The shape of a value when every dimension is a number, else null (symbolic or undeclared).</summary>
    public static IReadOnlyList<long>? KnownShapeOf(Value? value) =>
        value?.Shape is { } shape && shape.All(d => d.IsKnown) ? shape.Select(d => d.Size!.Value).ToArray() : null;
}
