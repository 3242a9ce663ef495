namespace SharpQuant.Passes.OpsetConversion;

/// <summary>Squeeze, Unsqueeze and ReduceSum → 13: the axes attribute becomes an int64 input (absent axes stay absent: same default).</summary>
internal sealed class AxesToInputConverter : IOpConverter
{
    public void Convert(OpsetConversionContext context, Node node)
    {
        if (node.Attributes.Remove("axes", out var axes))
        {
            node.SetInput(1, context.Ints(node, "axes", axes.AsInts()));
        }
    }
}
