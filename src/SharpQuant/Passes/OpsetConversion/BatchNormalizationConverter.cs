namespace SharpQuant.Passes.OpsetConversion;

/// <summary>
/// BatchNormalization-7 → 9: the spatial attribute is gone (consumed_inputs went at 6). spatial = 1 (the default)
/// is what opset 9 always does. spatial = 0 normalizes each activation with its own statistics (parameters shaped
/// like one sample, C × D1 × …): opset 9 has no such mode, so it is written out elementwise,
/// (x − mean) / √(var + ε) · scale + B, which broadcasts the per-activation parameters over the batch.
/// </summary>
internal sealed class BatchNormalizationConverter : IOpConverter
{
    /// <summary>ONNX's default ε for BatchNormalization.</summary>
    private const float DefaultEpsilon = 1e-5f;

    public string? Refusal(OpsetConversionContext context, Node node) =>
        node.GetInt("spatial", 1) == 0 && node.Outputs.Skip(1).Any(o => o.Uses.Count > 0 || o.IsGraphOutput)
            ? "spatial = 0 in training mode (running statistics are read) has no expression at opset 9"
            : null;

    public void Convert(OpsetConversionContext context, Node node)
    {
        var spatial = node.GetInt("spatial", 1);
        if (spatial != 0)
        {
            node.Attributes.Remove("spatial");
            node.Attributes.Remove("consumed_inputs");
            node.Owner.Touch();
            return;
        }
        var x = node.Input(0);
        var type = x.ElementType;
        var epsilon = context.Scalar(node, "epsilon", node.GetFloat("epsilon", DefaultEpsilon), type);
        var centered = context.Add(node, "Sub", "center", [x, node.Input(3)]);
        var shifted = context.Add(node, "Add", "var_eps", [node.Input(4), epsilon]);
        var deviation = context.Add(node, "Sqrt", "std", [shifted.Output]);
        var normalized = context.Add(node, "Div", "normalize", [centered.Output, deviation.Output]);
        var scaled = context.Add(node, "Mul", "scale", [normalized.Output, node.Input(1)]);
        var result = context.Add(node, "Add", "shift", [scaled.Output, node.Input(2)]);
        foreach (var n in new[] { centered, shifted, deviation, normalized, scaled })
        {
            n.Output.ElementType = type;
        }
        var output = node.Output;
        context.Reroute(output, result.Output);
        foreach (var o in node.Outputs.ToList())
        {
            o.Shape = null;
        }
        node.Owner.RemoveNode(node);
    }
}
