namespace SharpQuant.Passes.OpsetConversion;

/// <summary>Slice-1 → 10: starts, ends and axes become int64 inputs (axes default to the first ones, as before; steps stay 1).</summary>
internal sealed class SliceConverter : IOpConverter
{
    public void Convert(OpsetConversionContext context, Node node)
    {
        var starts = node.GetInts("starts") ?? throw context.Refuse(node, "it has no starts attribute");
        var ends = node.GetInts("ends") ?? throw context.Refuse(node, "it has no ends attribute");
        var axes = node.GetInts("axes") ?? Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        node.Attributes.Remove("starts");
        node.Attributes.Remove("ends");
        node.Attributes.Remove("axes");
        node.SetInput(1, context.Ints(node, "starts", starts));
        node.SetInput(2, context.Ints(node, "ends", ends));
        node.SetInput(3, context.Ints(node, "axes", axes));
    }
}
