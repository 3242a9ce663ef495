namespace SharpQuant.Onnx;

/// <summary>
/// Models below opset 7 load as they are: their nodes keep their old forms, and a load → save round trip writes them
/// back unchanged. Two old forms mean something no later opset says and that SharpQuant's passes would misread, so a
/// model using them is refused, naming the node and the op:
/// <list type="bullet">
/// <item>legacy broadcasting along an axis (<c>broadcast = 1</c> with <c>axis</c>, on Add, Mul, ... before opset 7):
/// the second operand is aligned at <c>axis</c> rather than at the trailing dimensions as numpy-style broadcasting
/// (opset 7 on) does; without <c>axis</c> the old rule is suffix matching, which numpy broadcasting agrees with;</item>
/// <item>training mode (<c>is_test = 0</c>, the default, on BatchNormalization and Dropout before opset 7): the
/// node normalizes with batch statistics or drops values at random, where inference forms use the stored ones.</item>
/// </list>
/// </summary>
internal static class LegacyOpsetForms
{
    /// <summary>The opset that replaced legacy broadcasting by numpy-style broadcasting and removed is_test.</summary>
    public const long FirstModernOpset = 7;

    // The ops that took broadcast and axis attributes before opset 7.
    private static readonly HashSet<string> LegacyBroadcastOps = new(StringComparer.Ordinal)
    {
        "Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor", "Equal", "Greater", "Less",
    };

    public static void Check(Graph graph, long opset)
    {
        foreach (var node in graph.Nodes.Where(n => n.IsStandardOnnx))
        {
            if (LegacyBroadcastOps.Contains(node.OpType) && IntAttribute(node, "broadcast") == 1 && IntAttribute(node, "axis") is { } axis)
            {
                throw new InvalidModelException(
                    $"node '{Label(node)}' ({node.OpType}) broadcasts its second input along axis {axis}, the legacy broadcast of opset {opset} that later opsets dropped; SharpQuant does not read it (convert the model to opset 7 or later)");
            }
            if (node.OpType is "BatchNormalization" or "Dropout" && (IntAttribute(node, "is_test") ?? 0) == 0)
            {
                throw new InvalidModelException(
                    $"node '{Label(node)}' ({node.OpType}) runs in training mode (is_test = 0, the default of opset {opset}); SharpQuant reads inference models only (set is_test = 1, or convert the model to opset 7 or later)");
            }
        }
    }

    private static long? IntAttribute(Node node, string name) =>
        node.Attributes.TryGetValue(name, out var a) && a.Kind == AttributeKind.Int ? a.AsInt() : null;

    private static string Label(Node node) =>
        node.Name.Length > 0 ? node.Name : node.Outputs.FirstOrDefault()?.Name ?? node.OpType;
}
