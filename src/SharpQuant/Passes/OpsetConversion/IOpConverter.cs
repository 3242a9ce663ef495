namespace SharpQuant.Passes.OpsetConversion;

/// <summary>
/// Rewrites one node from its op's form at the model's opset to the form at a higher one, keeping what it computes
/// (as ONNX's version converter adapters do, one op family per class).
/// </summary>
internal interface IOpConverter
{
    /// <summary>Why this node's old meaning has no expression at the target, or null; asked before anything is edited.</summary>
    string? Refusal(OpsetConversionContext context, Node node) => null;

    void Convert(OpsetConversionContext context, Node node);
}
