namespace SharpQuant.Passes.OpsetConversion;

/// <summary>
/// Dropout (any version before the target) → Identity: SharpQuant runs models for inference, where Dropout passes
/// its input through (its ratio, an attribute before 12 and an input after, does not matter then). A mask output
/// that something reads becomes all ones (nothing dropped) of its type: the input's type before opset 10, bool after,
/// as ONNX's reference computes it.
/// </summary>
internal sealed class DropoutConverter : IOpConverter
{
    public void Convert(OpsetConversionContext context, Node node)
    {
        var x = node.Input(0);
        var mask = node.Outputs.Count > 1 ? node.Outputs[1] : null;
        if (mask is not null && (mask.Uses.Count > 0 || mask.IsGraphOutput))
        {
            var type = mask.ElementType != ElementType.Undefined ? mask.ElementType
                : context.From < 10 ? x.ElementType : ElementType.Bool;
            var one = type switch
            {
                ElementType.Bool => Tensor.Create([true], 1),
                ElementType.Double => Tensor.Create([1.0], 1),
                ElementType.Float16 => Tensor.Create([(Half)1], 1),
                _ => Tensor.Create([1f], 1),
            };
            var shape = context.Add(node, "Shape", "mask_shape", [x]);
            var ones = context.Add(node, "ConstantOfShape", "mask", [shape.Output], new Dictionary<string, AttributeValue> { ["value"] = AttributeValue.Of(one) });
            ones.Output.ElementType = one.ElementType;
            context.Reroute(mask, ones.Output);
        }
        context.Replace(node, "Identity", [x], outputCount: 1);
    }
}
