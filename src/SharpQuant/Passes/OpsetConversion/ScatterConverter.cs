namespace SharpQuant.Passes.OpsetConversion;

/// <summary>Scatter-9 → 11: the op is deprecated and ScatterElements computes the same (same inputs and axis).</summary>
internal sealed class ScatterConverter : IOpConverter
{
    public void Convert(OpsetConversionContext context, Node node) =>
        context.Replace(node, "ScatterElements", node.Inputs.ToList(), node.Attributes);
}
