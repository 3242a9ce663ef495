namespace SharpQuant.Passes.OpsetConversion;

/// <summary>Split-2/11 → 13: the split attribute (the part sizes) becomes an int64 input.</summary>
internal sealed class SplitConverter : IOpConverter
{
    public void Convert(OpsetConversionContext context, Node node)
    {
        if (node.Attributes.Remove("split", out var split))
        {
            node.SetInput(1, context.Ints(node, "split", split.AsInts()));
        }
    }
}
