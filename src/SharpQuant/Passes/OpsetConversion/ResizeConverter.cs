namespace SharpQuant.Passes.OpsetConversion;

/// <summary>
/// Resize-10 → 11: roi is a new input before scales, and the coordinate mapping and nearest rounding become
/// attributes whose defaults (half_pixel, round_prefer_floor) differ from what opset 10 did, so they are written out
/// (<see cref="ResizeForm.Opset10Semantics"/>). A nearest Resize-10 that enlarges some axes and shrinks others rounds
/// differently per axis, which one nearest_mode cannot say: it becomes two Resizes, the shrinking axes then the
/// enlarging ones (nearest sampling is separable, so this is exact); so does one whose scales are computed at run time.
/// Resize-11/12 → 13: tf_half_pixel_for_nn is gone; its x' = (x + ½) / scale is half_pixel's mapping plus ½, which
/// the nearest rounding absorbs (floor(y + ½) is round_prefer_ceil(y), round_prefer_floor(y + ½) is ceil(y)). Empty
/// roi and scales placeholders are omitted.
/// </summary>
internal sealed class ResizeConverter : IOpConverter
{
    public string? Refusal(OpsetConversionContext context, Node node)
    {
        if (context.From < 11 || node.GetString("coordinate_transformation_mode", "half_pixel") != "tf_half_pixel_for_nn")
        {
            return null;
        }
        var mode = node.GetString("mode", "nearest");
        var nearest = node.GetString("nearest_mode", "round_prefer_floor");
        return mode == "nearest" && HalfPixelRounding(nearest) is not null
            ? null
            : $"coordinate_transformation_mode 'tf_half_pixel_for_nn' is gone at opset 13, and with mode '{mode}' and nearest_mode '{nearest}' no other mapping computes the same pixels";
    }

    /// <summary>The nearest_mode that, on half_pixel's coordinate, picks the pixel <paramref name="nearest"/> picks on tf_half_pixel_for_nn's (½ more).</summary>
    private static string? HalfPixelRounding(string nearest) => nearest switch
    {
        "floor" => "round_prefer_ceil",
        "round_prefer_floor" => "ceil",
        _ => null,
    };

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
            // Which axes shrink is known only at run time: shrink with min(scales, 1) rounding up, then enlarge with
            // max(scales, 1) rounding down. An axis at scale 1 is copied as it is by either, so this is exact.
            var one = context.Scalar(node, "one", 1, ElementType.Float);
            var shrinkBy = context.Add(node, "Min", "shrink_scales", [scales, one]);
            var enlargeBy = context.Add(node, "Max", "enlarge_scales", [scales, one]);
            shrinkBy.Output.ElementType = enlargeBy.Output.ElementType = ElementType.Float;
            TwoResizes(context, node, x, shrinkBy.Output, enlargeBy.Output);
            return;
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
        TwoResizes(context, node, x, downScales, upScales);
    }

    /// <summary>Nearest sampling is separable: the shrinking axes (rounded up) first, then the enlarging ones (rounded down).</summary>
    private static void TwoResizes(OpsetConversionContext context, Node node, Value x, Value shrinkScales, Value enlargeScales)
    {
        var down = context.Add(node, "Resize", "shrink", ResizeForm.Inputs(context, node, x, null, shrinkScales, null), ResizeForm.Opset10Semantics(context, "nearest", shrinking: true));
        down.Output.ElementType = x.ElementType;
        context.Replace(node, "Resize", ResizeForm.Inputs(context, node, down.Output, null, enlargeScales, null), ResizeForm.Opset10Semantics(context, "nearest", shrinking: false));
    }

    private static void FromOpset11(OpsetConversionContext context, Node node)
    {
        var transform = node.GetString("coordinate_transformation_mode", "half_pixel");
        if (transform == "tf_half_pixel_for_nn")
        {
            node.SetAttribute("coordinate_transformation_mode", AttributeValue.Of("half_pixel"));
            node.SetAttribute("nearest_mode", AttributeValue.Of(HalfPixelRounding(node.GetString("nearest_mode", "round_prefer_floor"))!));
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
