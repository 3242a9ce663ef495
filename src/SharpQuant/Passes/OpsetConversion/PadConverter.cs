namespace SharpQuant.Passes.OpsetConversion;

/// <summary>Pad-2 → 11: pads becomes an int64 input; in constant mode the value becomes a scalar input of the data's type.</summary>
internal sealed class PadConverter : IOpConverter
{
    public void Convert(OpsetConversionContext context, Node node)
    {
        var pads = node.GetInts("pads") ?? throw context.Refuse(node, "it has no pads attribute");
        var constantMode = node.GetString("mode", "constant") == "constant";
        var value = node.GetFloat("value", 0f);
        node.Attributes.Remove("pads");
        node.Attributes.Remove("value");
        node.SetInput(1, context.Ints(node, "pads", pads));
        if (constantMode)
        {
            node.SetInput(2, context.Scalar(node, "value", value, node.Input(0).ElementType));
        }
    }
}
