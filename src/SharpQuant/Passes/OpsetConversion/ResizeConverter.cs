namespace SharpQuant.Passes.OpsetConversion;

/// <summary>
/// Resize-10 → 11: roi is a new input before scales, and the coordinate mapping and nearest rounding become
/// attributes whose defaults (half_pixel, round_prefer_floor) differ from what opset 10 did, so they are written out
/// (<see cref="ResizeForm.Opset10Semantics"/>). A nearest Resize-10 that enlarges some axes and shrinks others rounds
/// differently per axis, which one nearest_mode cannot say: it becomes two Resizes, the shrinking axes then the
/// enlarging ones (nearest sampling is separable, so this is exact).
/// Resize-11/12 → 13: tf_half_pixel_for_nn is gone; its x' = (x + ½) / scale is half_pixel's mapping plus ½, which
/// the nearest rounding absorbs (floor(y + ½) is round_prefer_ceil(y), round_prefer_floor(y + ½) is ceil(y)). Empty
/// roi and scales placeholders are omitted.
/// </summary>
internal sealed class ResizeConverter : IOpConverter
{
    public void Convert(OpsetConversionContext context, Node node)
    {
        if (context.From < 11)
        {
            FromOpset10(context, node);
        }
        else
        {
            FromOpset11(context, node);
        }
    }

    private static void FromOpset10(OpsetConversionContext context, Node node)
    {
        var mode = node.GetString("mode", "nearest");
        var x = node.Input(0);
        var scales = node.Input(1);
        if (mode != "nearest")
        {
            context.Replace(node, "Resize", ResizeForm.Inputs(context, node, x, null, scales, null), ResizeForm.Opset10Semantics(context, mode, shrinking: false));
            return;
        }
        if (scales.ConstantValue is not { ElementType: ElementType.Float } constant)
        {
            throw context.Refuse(node, "its nearest rounding at opset 10 depends on whether each scale is below 1 (down when enlarging, up when shrinking), and its scales are computed at run time");
        }
        var values = constant.ToArray<float>();
        var shrinks = values.Any(s => s < 1f);
        var enlarges = values.Any(s => s > 1f);
        if (!(shrinks && enlarges))
        {
            context.Replace(node, "Resize", ResizeForm.Inputs(context, node, x, null, scales, null), ResizeForm.Opset10Semantics(context, mode, shrinking: shrinks));
            return;
        }
        var downScales = node.Owner.AddConstant($"{Graph.DisplayName(node)}.shrink_scales", Tensor.FromFloats(values.Select(s => Math.Min(s, 1f)).ToArray(), values.Length));
        var upScales = node.Owner.AddConstant($"{Graph.DisplayName(node)}.enlarge_scales", Tensor.FromFloats(values.Select(s => Math.Max(s, 1f)).ToArray(), values.Length));
        var down = context.Add(node, "Resize", "shrink", ResizeForm.Inputs(context, node, x, null, downScales, null), ResizeForm.Opset10Semantics(context, mode, shrinking: true));
        down.Output.ElementType = x.ElementType;
        context.Replace(node, "Resize", ResizeForm.Inputs(context, node, down.Output, null, upScales, null), ResizeForm.Opset10Semantics(context, mode, shrinking: false));
    }

    private static void FromOpset11(OpsetConversionContext context, Node node)
    {
        var transform = node.GetString("coordinate_transformation_mode", "half_pixel");
        if (transform == "tf_half_pixel_for_nn")
        {
            var mode = node.GetString("mode", "nearest");
            var nearest = node.GetString("nearest_mode", "round_prefer_floor");
            var equivalent = nearest switch
            {
                "floor" => "round_prefer_ceil",
                "round_prefer_floor" => "ceil",
                _ => null,
            };
            if (mode != "nearest" || equivalent is null)
            {
                throw context.Refuse(node, $"coordinate_transformation_mode 'tf_half_pixel_for_nn' is gone at opset 13, and with mode '{mode}' and nearest_mode '{nearest}' no other mapping computes the same pixels");
            }
            node.SetAttribute("coordinate_transformation_mode", AttributeValue.Of("half_pixel"));
            node.SetAttribute("nearest_mode", AttributeValue.Of(equivalent));
            transform = "half_pixel";
        }
        if (node.InputOrNull(1) is { ConstantValue.ElementCount: 0 } && transform != "tf_crop_and_resize")
        {
            node.SetInput(1, null);
        }
        if (node.InputOrNull(3) is not null && node.InputOrNull(2) is { ConstantValue.ElementCount: 0 })
        {
            node.SetInput(2, null);
        }
    }
}
