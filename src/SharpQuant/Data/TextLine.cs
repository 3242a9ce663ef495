namespace SharpQuant.Data;

/// <summary>One rendered line of the text orientation dataset: its spec, its pixels and its class index.</summary>
public sealed record TextLine(int Index, TextLineSpec Spec, RgbImage Image)
{
    /// <summary>0 for upright text, 1 for text turned by 180° (the classifier's output order).</summary>
    public int Label => Spec.Label;
}
