namespace SharpQuant.Passes.OpsetConversion;

/// <summary>TopK-1 → 10: the k attribute becomes a one-element int64 input (largest and sorted, added at 11, default to the old behaviour).</summary>
internal sealed class TopKConverter : IOpConverter
{
    public void Convert(OpsetConversionContext context, Node node)
    {
        var k = node.Attributes.TryGetValue("k", out var a) ? a.AsInt() : throw context.Refuse(node, "it has no k attribute");
        node.Attributes.Remove("k");
        node.SetInput(1, context.Ints(node, "k", [k]));
    }
}
