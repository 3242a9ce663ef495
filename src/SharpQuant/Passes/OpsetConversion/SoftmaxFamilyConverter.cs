namespace SharpQuant.Passes.OpsetConversion;

/// <summary>
/// Softmax, LogSoftmax and Hardmax before 13 → 13. Before 13 the input is coerced to 2-D at axis (dimensions before
/// it become rows, the rest one row of columns) and the op runs over each row; from 13 it runs along axis alone.
/// Where axis is the last dimension the two agree and only the attribute is written (13's default is −1, older
/// ones' 1). Otherwise the old meaning is spelled out as ONNX's converter does: Flatten at axis, the op along the
/// last axis, and Reshape back to the input's shape (read at run time by Shape), which needs no rank.
/// </summary>
internal sealed class SoftmaxFamilyConverter : IOpConverter
{
    public void Convert(OpsetConversionContext context, Node node)
    {
        var axis = node.GetInt("axis", 1);
        var x = node.Input(0);
        var rank = context.Ranks.RankOf(x);
        if (rank is { } r && (axis == r - 1 || axis == -1))
        {
            node.SetAttribute("axis", AttributeValue.Of(-1L));
            return;
        }
        var shape = context.Add(node, "Shape", "input_shape", [x]);
        shape.Output.ElementType = ElementType.Int64;
        var flatten = context.Add(node, "Flatten", "to_2d", [x], new Dictionary<string, AttributeValue> { ["axis"] = AttributeValue.Of(axis) });
        flatten.Output.ElementType = x.ElementType;
        node.SetInput(0, flatten.Output);
        node.SetAttribute("axis", AttributeValue.Of(-1L));
        var output = node.Output;
        var reshape = context.Add(node, "Reshape", "from_2d", [output, shape.Output]);
        context.Reroute(output, reshape.Output);
        // Reroute moved every use of the op's output, including the one Reshape itself makes: give it back.
        reshape.SetInput(0, output);
    }
}
