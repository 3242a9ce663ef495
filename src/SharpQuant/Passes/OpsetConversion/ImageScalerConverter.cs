namespace SharpQuant.Passes.OpsetConversion;

/// <summary>
/// ImageScaler, an experimental op of the early opsets that ONNX dropped at 10 (old Caffe and CNTK exports such as
/// Tiny YOLOv2 start with it): y = scale · x + bias[c] on an NCHW input, written as Mul and Add with the bias
/// shaped [C, 1, 1] to broadcast over the batch and the image.
/// </summary>
internal sealed class ImageScalerConverter : IOpConverter
{
    public void Convert(OpsetConversionContext context, Node node)
    {
        var x = node.Input(0);
        var scale = node.GetFloat("scale", 1f);
        var bias = node.Attributes.TryGetValue("bias", out var b) ? b.AsFloats() : [];
        var scaled = context.Add(node, "Mul", "scale", [x, context.Scalar(node, "scale", scale, x.ElementType)]);
        scaled.Output.ElementType = x.ElementType;
        var result = scaled;
        if (bias.Length > 0)
        {
            var biasValue = node.Owner.AddConstant($"{Graph.DisplayName(node)}.bias", Tensor.FromFloats(bias, bias.Length, 1, 1));
            result = context.Add(node, "Add", "bias", [scaled.Output, biasValue]);
        }
        context.Reroute(node.Output, result.Output);
        node.Owner.RemoveNode(node);
    }
}
