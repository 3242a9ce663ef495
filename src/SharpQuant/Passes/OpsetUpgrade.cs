using SharpQuant.Passes.OpsetConversion;

namespace SharpQuant.Passes;

/// <summary>
/// Raises a graph's default-domain opset (for example 8 → 13, which per-channel QuantizeLinear and Round need), in
/// place, with ONNX's version-conversion rules: every op whose inputs, attributes or meaning changed in between is
/// rewritten to compute the same at the new opset (Upsample and Resize, Softmax/LogSoftmax/Hardmax, Clip, Pad, Slice,
/// Split, Squeeze/Unsqueeze/ReduceSum, TopK, Scatter, BatchNormalization, Dropout, Scan, ImageScaler,
/// MeanVarianceNormalization, and the bodies of If/Loop/Scan: see Passes/OpsetConversion/). Only what the new opset
/// cannot express is an error, naming the op, the node and why.
/// </summary>
public static class OpsetUpgrade
{
    public static void RaiseTo(Graph graph, long target)
    {
        if (graph.Info.OnnxOpset < target && graph.Info.OnnxOpset < Onnx.LegacyOpsetForms.FirstModernOpset && graph.Info.Opsets.ContainsKey(""))
        {
            // Before opset 7 many ops had other attributes (consumed_inputs, broadcast, is_test) that the converters do not rewrite.
            throw new SharpQuantException($"raising the opset from {graph.Info.OnnxOpset} is not supported: convert the model to opset 7 or later first");
        }
        OpsetConverter.Raise(graph, target);
    }
}
