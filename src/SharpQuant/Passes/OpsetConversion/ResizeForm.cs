namespace SharpQuant.Passes.OpsetConversion;

/// <summary>
/// Writes a Resize in the form of the target opset: opset 10 reads (X, scales); 11 and 12 read (X, roi, scales, sizes)
/// with roi (and scales, when sizes are given) required even if empty; from 13 the unused ones are omitted.
/// </summary>
internal static class ResizeForm
{
    public static Value?[] Inputs(OpsetConversionContext context, Node owner, Value x, Value? roi, Value? scales, Value? sizes)
    {
        if (context.To < 11)
        {
            return [x, scales];
        }
        if (context.To < 13)
        {
            roi ??= context.EmptyFloats(owner, "roi");
            scales ??= context.EmptyFloats(owner, "scales");
        }
        return sizes is null ? [x, roi, scales] : [x, roi, scales, sizes];
    }

    /// <summary>
    /// The attributes that give a Resize at 11 or later the meaning of Upsample or of an opset-10 Resize: the only
    /// coordinate mapping then was asymmetric (x / scale), and ONNX Runtime's nearest pixel rounded down when enlarging
    /// and up when shrinking (its "simple" rounding).
    /// </summary>
    public static Dictionary<string, AttributeValue> Opset10Semantics(OpsetConversionContext context, string mode, bool shrinking)
    {
        var attributes = new Dictionary<string, AttributeValue> { ["mode"] = AttributeValue.Of(mode) };
        if (context.To >= 11)
        {
            attributes["coordinate_transformation_mode"] = AttributeValue.Of("asymmetric");
            if (mode == "nearest")
            {
                attributes["nearest_mode"] = AttributeValue.Of(shrinking ? "ceil" : "floor");
            }
        }
        return attributes;
    }
}
