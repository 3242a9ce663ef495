namespace SharpQuant.Quantization;

/// <summary>Which activation quantizers <see cref="QuantSim.Prepare(Graph, QConfigMapping, ActivationPlacement)"/> places besides the units'.</summary>
public enum ActivationPlacement
{
    /// <summary>
    /// Also at the outputs of the ops ONNX Runtime has integer kernels for (Sigmoid, Mul of two computed tensors,
    /// GlobalAveragePool, AveragePool, Concat, LeakyRelu), when every data input of the op is quantized: the QDQ export
    /// then forms the DequantizeLinear → op → QuantizeLinear groups that ORT fuses into QLinearSigmoid, QLinearMul,
    /// QLinearGlobalAveragePool, QLinearAveragePool and QLinearConcat, and the tensors between them stay int8.
    /// </summary>
    IntegerKernels,

    /// <summary>Only the units' outputs (layer or Add with its activation) and the inputs of quantized layers and Adds.</summary>
    Units,
}

/// <summary>
/// The rules of <see cref="ActivationPlacement.IntegerKernels"/>, read from ONNX Runtime's QDQ selectors
/// (qdq_selector_action_transformer.cc): the unary rule fuses DQ → {AveragePool, LeakyRelu, GlobalAveragePool,
/// Sigmoid, Softmax} → Q, the binary rule DQ, DQ → {Add, Mul} → Q (CPU), the variadic rule DQs → Concat → Q. An op
/// whose inputs are not all quantized gains nothing from a quantizer at its output (ORT would run it in float and
/// then quantize), so it gets none. HardSigmoid and a hard-swish written out (Add, Clip, Div) have no integer kernel;
/// quantizing their outputs so that the Mul after them runs as QLinearMul measured slower, not faster (ppocr-cls at
/// batch 1: 0.35× float against 0.76× without; MobileNetV3-small 0.62–0.85× against 0.77×), since each gate then
/// costs a float op between a DequantizeLinear and a QuantizeLinear of its own; such Muls stay float.
/// </summary>
internal static class IntegerKernelPlacement
{
    /// <summary>
    /// A Sigmoid gate has a bounded output whose values near the top matter as much as any: a range chosen by entropy
    /// clips them (EfficientNet-B0's evaluation SQNR fell from 34.9 to 8.4 dB with entropy ranges on its 65 Sigmoids),
    /// so its quantizer takes the observed extremes.
    /// </summary>
    public static bool WantsFullRange(Node producer) => producer.OpType == "Sigmoid";

    /// <summary>
    /// The values to quantize, in graph order. <paramref name="isQuantized"/>
    /// tells whether a value is already quantized; values returned earlier count as quantized for later ones.
    /// </summary>
    public static List<Value> Values(Graph graph, Func<Value, bool> isQuantized)
    {
        var chosen = new List<Value>();
        var quantized = new HashSet<Value>(ReferenceEqualityComparer.Instance);
        bool Quantized(Value v) => quantized.Contains(v) || isQuantized(v);
        void Choose(Value v)
        {
            if (!Quantized(v))
            {
                chosen.Add(v);
            }
            quantized.Add(v);
        }

        foreach (var node in graph.Nodes)
        {
            if (node.Outputs.Count != 1 || node.Output.IsGraphOutput)
            {
                continue;
            }
            var data = node.Inputs.Where(i => i is { IsConstant: false }).Select(i => i!).ToList();
            switch (node.OpType)
            {
                case "Sigmoid" or "GlobalAveragePool" or "AveragePool" or "LeakyRelu" when data.Count == 1 && Quantized(data[0]):
                    Choose(node.Output);
                    break;
                case "Concat" when data.Count == node.Inputs.Count && data.All(Quantized):
                    Choose(node.Output);
                    break;
                case "Mul" when data.Count == 2 && data.All(Quantized):
                    // SiLU (x · Sigmoid(x)) and a squeeze-excitation with a Sigmoid gate, once the Sigmoid is quantized.
                    Choose(node.Output);
                    break;
            }
        }
        return chosen;
    }
}
