namespace SharpQuant.Passes.OpsetConversion;

/// <summary>Clip-6 → 11: the min and max attributes become optional scalar inputs of the input's type (an absent bound stays absent: no clipping on that side).</summary>
internal sealed class ClipConverter : IOpConverter
{
    public void Convert(OpsetConversionContext context, Node node)
    {
        var type = node.Input(0).ElementType;
        Value? Bound(string name) =>
            node.Attributes.Remove(name, out var a) ? context.Scalar(node, name, a.AsFloat(), type) : null;
        var min = Bound("min");
        var max = Bound("max");
        node.SetInput(1, min);
        node.SetInput(2, max);
    }
}
