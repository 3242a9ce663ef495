namespace SharpQuant.Passes.OpsetConversion;

/// <summary>
/// Upsample-7 (scales an attribute) → 9 (scales an input) → Resize from 10, where Upsample is deprecated. Upsample's
/// scales are at least 1, so its nearest pixel is the floor of x / scale, which Resize-11 says with asymmetric
/// coordinates and nearest_mode = floor; linear interpolation is the same with asymmetric coordinates.
/// </summary>
internal sealed class UpsampleConverter : IOpConverter
{
    public string? Refusal(OpsetConversionContext context, Node node) =>
        node.GetString("mode", "nearest") is not ("nearest" or "linear") and var mode
            ? $"mode '{mode}' is not an Upsample mode from opset 7 on (nearest or linear)"
            : null;

    public void Convert(OpsetConversionContext context, Node node)
    {
        var mode = node.GetString("mode", "nearest");
        Value scales;
        if (context.From < 9)
        {
            var attribute = node.Attributes.TryGetValue("scales", out var a) ? a.AsFloats() : throw context.Refuse(node, "it has no scales attribute");
            scales = node.Owner.AddConstant($"{Graph.DisplayName(node)}.scales", Tensor.FromFloats(attribute, attribute.Length));
        }
        else
        {
            scales = node.Input(1);
        }
        if (context.To < 10)
        {
            node.Attributes.Remove("scales");
            node.SetInput(1, scales);
            return;
        }
        var inputs = ResizeForm.Inputs(context, node, node.Input(0), roi: null, scales, sizes: null);
        context.Replace(node, "Resize", inputs, ResizeForm.Opset10Semantics(context, mode, shrinking: false));
    }
}
