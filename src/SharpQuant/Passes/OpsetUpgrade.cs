using System.Collections.Frozen;

namespace SharpQuant.Passes;

/// <summary>
/// Raises a graph's default-domain opset (for example 8 → 13, which per-channel QuantizeLinear and Round need).
/// Ops whose meaning did not change in between are kept; ops whose attributes became inputs (Clip, Slice, Pad,
/// Squeeze, Unsqueeze, Split, ReduceSum) are rewritten; Dropout becomes Identity (inference); BatchNormalization
/// loses its spatial=1 attribute; Softmax and LogSoftmax are kept where the old and new axis rules agree. Any
/// other op whose meaning changed is an error that names it and its node.
/// </summary>
public static class OpsetUpgrade
{
    // Ops whose behaviour (for inference) is the same from opset 7 through 13.
    private static readonly FrozenSet<string> Unchanged = new[]
    {
        "Abs", "Add", "And", "ArgMax", "ArgMin", "AveragePool", "Cast", "Ceil", "Concat", "Constant", "ConstantOfShape",
        "Conv", "ConvTranspose", "DepthToSpace", "Div", "Elu", "Equal", "Exp", "Expand", "Flatten", "Floor", "Gather",
        "Gemm", "GlobalAveragePool", "GlobalMaxPool", "Greater", "HardSigmoid", "Identity", "InstanceNormalization",
        "LRN", "LeakyRelu", "Less", "Log", "MatMul", "Max", "MaxPool", "Mean", "Min", "Mul", "Neg", "Not", "Or",
        "PRelu", "Pow", "Reciprocal", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "Relu", "Reshape",
        "Round", "Selu", "Shape", "Sigmoid", "Sign", "Size", "Softplus", "Softsign", "SpaceToDepth", "Sqrt", "Sub",
        "Sum", "Tanh", "Tile", "Transpose", "Where", "Xor", "HardSwish", "Erf", "Range", "QuantizeLinear",
        "DequantizeLinear", "Clip", "Slice", "Pad", "Squeeze", "Unsqueeze", "Split", "ReduceSum", "Dropout",
        "BatchNormalization", "Softmax", "LogSoftmax",
    }.ToFrozenSet(StringComparer.Ordinal);

    public static void RaiseTo(Graph graph, long target)
    {
        var from = graph.Info.OnnxOpset;
        if (from >= target)
        {
            return;
        }
        if (from < Onnx.LegacyOpsetForms.FirstModernOpset && graph.Info.Opsets.ContainsKey(""))
        {
            // Before opset 7 many ops had other attributes (consumed_inputs, broadcast, is_test) that the rules below do not rewrite.
            throw new SharpQuantException($"raising the opset from {from} is not supported: convert the model to opset 7 or later first");
        }
        if (target > 13)
        {
            throw new SharpQuantException($"raising the opset beyond 13 is not supported (asked for {target})");
        }
        foreach (var node in graph.Nodes.Where(n => n.IsStandardOnnx).ToList())
        {
            if (!Unchanged.Contains(node.OpType))
            {
                throw new UnsupportedOpException(node.OpType, node.ModuleName, $"cannot raise the opset from {from} to {target}: the op's meaning changed in between");
            }
            Rewrite(graph, node, from);
        }
        graph.Info.OnnxOpset = target;
        if (graph.Info.IrVersion < 7)
        {
            // Opset 13 needs IR version 7.
            graph.Info.IrVersion = 7;
        }
    }

    private static void Rewrite(Graph graph, Node node, long from)
    {
        switch (node.OpType)
        {
            case "Clip" when from < 11:
                MoveFloatAttributesToInputs(graph, node, ["min", "max"], [float.MinValue, float.MaxValue]);
                break;
            case "Slice" when from < 10:
                var starts = node.GetInts("starts")!;
                var ends = node.GetInts("ends")!;
                var axes = node.GetInts("axes") ?? Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
                node.Attributes.Remove("starts");
                node.Attributes.Remove("ends");
                node.Attributes.Remove("axes");
                node.SetInput(1, Ints(graph, node, "starts", starts));
                node.SetInput(2, Ints(graph, node, "ends", ends));
                node.SetInput(3, Ints(graph, node, "axes", axes));
                break;
            case "Pad" when from < 11:
                var pads = node.GetInts("pads")!;
                var value = node.GetFloat("value", 0f);
                node.Attributes.Remove("pads");
                node.Attributes.Remove("value");
                node.SetInput(1, Ints(graph, node, "pads", pads));
                node.SetInput(2, graph.AddConstant(node.ModuleName + ".value", Tensor.Scalar(value)));
                break;
            case "Squeeze" or "Unsqueeze" or "ReduceSum" when node.GetInts("axes") is { } axesAttr:
                node.Attributes.Remove("axes");
                node.SetInput(1, Ints(graph, node, "axes", axesAttr));
                break;
            case "Split" when node.GetInts("split") is { } split:
                node.Attributes.Remove("split");
                node.SetInput(1, Ints(graph, node, "split", split));
                break;
            case "Dropout":
                if (node.Outputs.Skip(1).Any(o => o.Uses.Count > 0 || o.IsGraphOutput))
                {
                    throw new UnsupportedOpException("Dropout", node.ModuleName, "cannot raise the opset: its mask output is used");
                }
                var identity = graph.AddNode("Identity", [node.Input(0)], moduleName: node.ModuleName + ".identity", after: node);
                identity.Output.ElementType = node.Output.ElementType;
                identity.Output.Shape = node.Output.Shape;
                graph.ReplaceAllUsesWith(node.Output, identity.Output);
                graph.RemoveNode(node);
                break;
            case "BatchNormalization":
                if (node.GetInt("spatial", 1) != 1)
                {
                    throw new UnsupportedOpException("BatchNormalization", node.ModuleName, "cannot raise the opset: spatial = 0 has no later equivalent");
                }
                node.Attributes.Remove("spatial");
                node.Attributes.Remove("consumed_inputs");
                break;
            case "Softmax" or "LogSoftmax" when from < 13:
                // Before 13 the input is flattened to 2-D at axis; from 13 the op runs along axis. They agree when axis is the last one.
                var axis = node.GetInt("axis", 1);
                var rank = node.Input(0).Shape?.Count ?? InferRank(node.Input(0));
                if (axis != -1 && axis != rank - 1)
                {
                    throw new UnsupportedOpException(node.OpType, node.ModuleName, $"cannot raise the opset: axis {axis} of a rank-{rank} input has another meaning from opset 13");
                }
                node.SetAttribute("axis", AttributeValue.Of(axis));
                break;
        }
    }

    /// <summary>The rank of a value whose shape the file does not record, followed back through shape-keeping ops.</summary>
    private static int InferRank(Value value)
    {
        var producer = value.Producer;
        return producer?.OpType switch
        {
            "MatMul" when LinearLayer.WeightValue(producer)?.ConstantValue is { Rank: 2 } => RankOf(producer.Input(0)),
            "Gemm" or "Flatten" => 2,
            "Add" or "Sub" or "Mul" or "Div" => producer.Inputs.Where(i => i is not null && !i.IsConstant).Select(i => RankOf(i!)).DefaultIfEmpty(-1).Max(),
            "Relu" or "Sigmoid" or "Identity" or "FakeQuant" or "Clip" or "LeakyRelu" => RankOf(producer.Input(0)),
            "Reshape" when producer.ConstantInput(1) is { } shape => (int)shape.ElementCount,
            "Reshape" when producer.Input(1).Producer?.OpType == "Concat" => producer.Input(1).Producer!.Inputs.Sum(i => (int)(i!.Shape?[0].Size ?? i.ConstantValue?.ElementCount ?? 1)),
            _ => -1,
        };
    }

    private static int RankOf(Value value) => value.Shape?.Count ?? InferRank(value);

    private static void MoveFloatAttributesToInputs(Graph graph, Node node, string[] names, float[] fallbacks)
    {
        for (var i = 0; i < names.Length; i++)
        {
            var value = node.GetFloat(names[i], fallbacks[i]);
            node.Attributes.Remove(names[i]);
            node.SetInput(i + 1, graph.AddConstant($"{node.ModuleName}.{names[i]}", Tensor.Scalar(value)));
        }
    }

    private static Value Ints(Graph graph, Node node, string name, long[] values) =>
        graph.AddConstant($"{node.ModuleName}.{name}", Tensor.Create(values, values.Length));
}
