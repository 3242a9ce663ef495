using SharpQuant.IO;
using SharpQuant.Onnx;
using SharpQuant.Passes;

namespace SharpQuant.Quantization;

/// <summary>A Conv or Gemm bias the export left in float, and why it could not become int32.</summary>
public sealed record FloatBias(string Layer, string Reason);

/// <summary>What the export did.</summary>
public sealed record QdqExportReport(int Weights, int Activations, int Biases, long Opset, long FloatBytes, long QuantizedBytes)
{
    /// <summary>Every Conv/Gemm bias that stayed float, with the reason: none is left in float without saying so.</summary>
    public IReadOnlyList<FloatBias> FloatBiases { get; init; } = [];
}

/// <summary>
/// Turns a calibrated <see cref="QuantSim"/> into a QDQ model that stock ONNX Runtime runs with integer kernels:
/// weights become int8 constants behind DequantizeLinear (per-channel along the output axis), activations get a
/// QuantizeLinear → DequantizeLinear pair (uint8 or int8 by their spec), and the bias of a layer whose input and
/// weight are both quantized becomes int32 with scale s_x·s_w, so ONNX Runtime can fuse the layer into QLinearConv
/// or QGemm. Every other op, the activations after convolutions included, stays as it was (a faithful export).
/// </summary>
public static class QdqExport
{
    public const long Opset = 13;

    /// <param name="format">The integer format the simulation was prepared for; recorded in the model's metadata.</param>
    public static Graph ToGraph(QuantSim sim, out QdqExportReport report, IntegerFormat? format = null)
    {
        var graph = sim.Graph.Clone();
        if (format is not null)
        {
            foreach (var (key, value) in format.Metadata())
            {
                graph.Info.MetadataProps[key] = value;
            }
        }
        OpsetUpgrade.RaiseTo(graph, Opset);
        int weights = 0, activations = 0, biases = 0;
        var floatBytes = sim.Graph.Constants.Where(c => c.Uses.Count > 0).Sum(c => c.ConstantValue!.ByteCount);
        foreach (var fq in graph.Nodes.Where(FakeQuantOp.Is).ToList())
        {
            var p = FakeQuantOp.Read(fq);
            var x = fq.Input(0);
            if (!FakeQuantOp.IsEnabled(fq))
            {
                FakeQuantOp.Bypass(graph, fq);
                continue;
            }
            var type = StorageType(fq, p);
            if (x.ConstantValue is { } w)
            {
                ExportWeight(graph, fq, w, p, type);
                weights++;
            }
            else
            {
                ExportActivation(graph, fq, p, type);
                activations++;
            }
        }
        var floatBiases = new List<FloatBias>();
        foreach (var layer in graph.Nodes.Where(n => n is { OpType: "Conv" or "Gemm", IsStandardOnnx: true } && n.InputOrNull(2) is not null).ToList())
        {
            if (QuantizeBias(graph, layer) is { } reason)
            {
                floatBiases.Add(new FloatBias(layer.ModuleName, reason));
            }
            else
            {
                biases++;
            }
        }
        graph.RemoveUnused();
        graph.Validate();
        var quantizedBytes = graph.Constants.Sum(c => c.ConstantValue!.ByteCount);
        report = new QdqExportReport(weights, activations, biases, graph.Info.OnnxOpset, floatBytes, quantizedBytes) { FloatBiases = floatBiases };
        return graph;
    }

    /// <summary>Exports and writes the model atomically.</summary>
    public static QdqExportReport Save(QuantSim sim, string path, IntegerFormat? format = null)
    {
        var graph = ToGraph(sim, out var report, format);
        AtomicFile.WriteAllBytes(path, OnnxModel.ToBytes(graph));
        return report;
    }

    private static ElementType StorageType(Node fq, QParams p)
    {
        if (p.QMin >= 0 && p.QMax <= 255)
        {
            return ElementType.UInt8;
        }
        if (p.QMin >= -128 && p.QMax <= 127)
        {
            return ElementType.Int8;
        }
        throw new SharpQuantException($"cannot export '{fq.ModuleName}': its grid [{p.QMin}, {p.QMax}] does not fit 8 bits (QDQ export supports up to 8-bit quantizers)");
    }

    private static void ExportWeight(Graph graph, Node fq, Tensor weight, QParams p, ElementType type)
    {
        var q = QuantMath.Quantize(weight, p).Select(v => unchecked((byte)v)).ToArray();
        var quantized = graph.AddConstant(fq.ModuleName + ".quantized", new Tensor(type, weight.Shape, q));
        var dq = Dequantize(graph, fq, quantized, p, type);
        graph.ReplaceAllUsesWith(fq.Output, dq.Output);
        graph.RemoveNode(fq);
    }

    private static void ExportActivation(Graph graph, Node fq, QParams p, ElementType type)
    {
        var typeMin = type == ElementType.UInt8 ? 0 : -128;
        var typeMax = type == ElementType.UInt8 ? 255 : 127;
        if (p.QMin != typeMin || p.QMax != typeMax)
        {
            throw new SharpQuantException(
                $"cannot export '{fq.ModuleName}' faithfully: QuantizeLinear saturates to [{typeMin}, {typeMax}], but the quantizer's grid is [{p.QMin}, {p.QMax}]");
        }
        var (scale, zero) = QParamConstants(graph, fq, p, type);
        var quantize = graph.AddNode("QuantizeLinear", [fq.Input(0), scale, zero], moduleName: fq.ModuleName + ".quantize", after: fq);
        quantize.Output.ElementType = type;
        var dq = graph.AddNode("DequantizeLinear", [quantize.Output, scale, zero], moduleName: fq.ModuleName + ".dequantize", after: quantize);
        dq.Output.ElementType = ElementType.Float;
        graph.ReplaceAllUsesWith(fq.Output, dq.Output);
        graph.RemoveNode(fq);
    }

    private static Node Dequantize(Graph graph, Node fq, Value quantized, QParams p, ElementType type)
    {
        var (scale, zero) = QParamConstants(graph, fq, p, type);
        var attributes = p.IsPerChannel ? new Dictionary<string, AttributeValue> { ["axis"] = AttributeValue.Of((long)p.Axis!.Value) } : null;
        var dq = graph.AddNode("DequantizeLinear", [quantized, scale, zero], moduleName: fq.ModuleName + ".dequantize", attributes: attributes, after: fq);
        dq.Output.ElementType = ElementType.Float;
        return dq;
    }

    /// <summary>Scale and zero point as QDQ wants them: scalars per tensor, 1-D per channel, zero point in the storage type.</summary>
    private static (Value Scale, Value Zero) QParamConstants(Graph graph, Node fq, QParams p, ElementType type)
    {
        long[] shape = p.IsPerChannel ? [p.Count] : [];
        var zeroBytes = p.ZeroPoint.Select(z => unchecked((byte)z)).ToArray();
        return (
            graph.AddConstant(fq.ModuleName + ".scale", Tensor.FromFloats(p.Scale, shape)),
            graph.AddConstant(fq.ModuleName + ".zero_point", new Tensor(type, shape, zeroBytes)));
    }

    /// <summary>
    /// int32 bias with scale s_x·s_w and zero point 0, when both the input and the weight come out of
    /// DequantizeLinear; otherwise the reason the bias stays float (null when it was quantized).
    /// </summary>
    private static string? QuantizeBias(Graph graph, Node layer)
    {
        if (layer.OpType == "Gemm" && (layer.GetFloat("alpha", 1f) != 1f || layer.GetFloat("beta", 1f) != 1f))
        {
            return "a Gemm with alpha or beta other than 1 has no int32-bias form";
        }
        var biasValue = layer.Input(2);
        if (biasValue.ConstantValue is not { } bias)
        {
            return $"its bias is computed by {biasValue.Producer?.OpType ?? "an input"} '{biasValue.Producer?.ModuleName ?? biasValue.Name}', not a constant";
        }
        if (bias.ElementType != ElementType.Float)
        {
            return bias.ElementType == ElementType.Int32 ? null : $"its bias is {bias.ElementType.DisplayName()}, not float32";
        }
        if (layer.Input(0).Producer is not { OpType: "DequantizeLinear" } inputDq)
        {
            return "its input is not quantized (no activation quantizer in front of it)";
        }
        if (layer.Input(1).Producer is not { OpType: "DequantizeLinear" } weightDq)
        {
            return "its weight is not quantized";
        }
        if (inputDq.ConstantInput(1) is not { ElementCount: 1 } inputScale)
        {
            return "its input's scale is not one per-tensor constant";
        }
        if (weightDq.ConstantInput(1) is not { } weightScales)
        {
            return "its weight's scale is not a constant";
        }
        var sx = inputScale.ToArray<float>()[0];
        var sw = weightScales.ToArray<float>();
        var b = bias.ToArray<float>();
        if (sw.Length != 1 && sw.Length != b.Length)
        {
            return $"its weight has {sw.Length} scales for {b.Length} bias values";
        }
        var scales = new float[b.Length];
        var q = new int[b.Length];
        for (var c = 0; c < b.Length; c++)
        {
            scales[c] = sx * sw[sw.Length == 1 ? 0 : c];
            q[c] = QuantMath.QuantizeBias(b[c], scales[c]);
        }
        var name = layer.ModuleName + ".bias";
        var quantized = graph.AddConstant(name + ".quantized", Tensor.Create(q, q.Length));
        var scale = graph.AddConstant(name + ".scale", Tensor.FromFloats(scales, scales.Length));
        var zero = graph.AddConstant(name + ".zero_point", Tensor.Create(new int[b.Length], b.Length));
        var dq = graph.AddNode("DequantizeLinear", [quantized, scale, zero], moduleName: name + ".dequantize",
            attributes: new Dictionary<string, AttributeValue> { ["axis"] = AttributeValue.Of(0L) });
        graph.MoveBefore(dq, layer);
        dq.Output.ElementType = ElementType.Float;
        layer.SetInput(2, dq.Output);
        return null;
    }
}
