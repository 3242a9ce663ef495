namespace SharpQuant.Passes.OpsetConversion;

/// <summary>
/// Rewrites one node from its op's form at the model's opset to the form at a higher one, keeping what it computes
/// (as ONNX's version converter adapters do, one op family per class).
/// </summary>
internal interface IOpConverter
{
    void Convert(OpsetConversionContext context, Node node);
}
