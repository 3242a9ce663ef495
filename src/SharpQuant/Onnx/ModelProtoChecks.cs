using Proto = global::Onnx;

namespace SharpQuant.Onnx;

/// <summary>
/// Checks of the file itself that ONNX Runtime makes before it looks at any op: an IR version it knows, a graph with
/// outputs (and nodes, unless every output is an initializer or an input), a type on every graph input, and defined
/// element types. A graph output may leave its type out: ONNX Runtime infers it.
/// Such models used to be written back with exit 0; they are refused on load with the rule that fails.
/// </summary>
internal static class ModelProtoChecks
{
    /// <summary>IR version 11 comes with opset 23, the newest SharpQuant reads (<see cref="OnnxImporter.MaxOpset"/>).</summary>
    public const long MaxIrVersion = 11;

    /// <summary>The largest TensorProto.DataType of IR version 11 (FLOAT4E2M1).</summary>
    private const int MaxElementType = 23;

    public static void Check(Proto.ModelProto model)
    {
        if (model.IrVersion > MaxIrVersion)
        {
            throw new InvalidModelException($"the model has IR version {model.IrVersion}; SharpQuant reads IR versions 1 to {MaxIrVersion}");
        }
        var g = model.Graph;
        if (g.Output.Count == 0)
        {
            throw new InvalidModelException("the graph has no outputs");
        }
        var initializers = g.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var inputs = g.Input.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        // A graph without nodes still computes outputs that are its constants or inputs (a Constant folded on export).
        if (g.Node.Count == 0 && g.Output.Any(o => !initializers.Contains(o.Name) && !inputs.Contains(o.Name)))
        {
            throw new InvalidModelException("the graph has no nodes");
        }
        foreach (var input in g.Input)
        {
            // Before IR version 4 initializers are listed as inputs too; their type is the initializer's.
            if (!initializers.Contains(input.Name))
            {
                CheckType(input, "graph input");
            }
        }
        foreach (var output in g.Output)
        {
            CheckType(output, "graph output", required: false);
        }
    }

    private static void CheckType(Proto.ValueInfoProto value, string role, bool required = true)
    {
        if (value.Type is null || value.Type.ValueCase == Proto.TypeProto.ValueOneofCase.None)
        {
            if (!required)
            {
                return;
            }
            throw new InvalidModelException($"{role} '{value.Name}' has no type");
        }
        if (value.Type.TensorType is { } tensor && tensor.ElemType is <= 0 or > MaxElementType)
        {
            throw new InvalidModelException($"{role} '{value.Name}' has element type {tensor.ElemType}, which ONNX does not define");
        }
    }
}
