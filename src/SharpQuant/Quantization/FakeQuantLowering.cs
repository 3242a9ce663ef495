namespace SharpQuant.Quantization;

/// <summary>
/// Rewrites FakeQuant nodes into standard ONNX so ONNX Runtime can run the simulation at any bit width:
/// x̂ = (Clip(Round(x / s) + z, qmin, qmax) − z) · s with Div, Round, Add, Clip, Sub and Mul (Round is
/// half-to-even in ONNX, as in the formulas). A disabled FakeQuant becomes the identity. Per-channel scale and
/// zero point are reshaped to broadcast along their axis. FakeQuants of constants (weights) are folded into
/// constants with the same formulas in C#. The opset is raised to 13 where needed (Round and
/// Clip with tensor bounds need 11).
/// </summary>
public static class FakeQuantLowering
{
    public const long MinimumOpset = 13;

    public static Graph Lower(Graph graph)
    {
        var fakeQuants = graph.Nodes.Where(FakeQuantOp.Is).ToList();
        if (fakeQuants.Count == 0)
        {
            return graph;
        }
        var lowered = graph.Clone();
        Passes.OpsetUpgrade.RaiseTo(lowered, MinimumOpset);
        foreach (var layer in lowered.Nodes.Where(n => n.OpType is "Conv" or "Gemm").ToList())
        {
            RoundBiasToExportGrid(lowered, layer);
        }
        foreach (var fq in lowered.Nodes.Where(FakeQuantOp.Is).ToList())
        {
            LowerOne(lowered, fq);
        }
        lowered.RemoveUnused();
        return lowered;
    }

    private static void LowerOne(Graph graph, Node fq)
    {
        var x = fq.Input(0);
        if (!FakeQuantOp.IsEnabled(fq))
        {
            FakeQuantOp.Bypass(graph, fq);
            return;
        }
        var p = FakeQuantOp.Read(fq);
        if (x.ConstantValue is { } constant)
        {
            // A quantized weight is computed once here rather than on every run: the C# formulas give the same
            // values as the lowered ops (tested bit for bit), and ONNX Runtime then sees a plain constant.
            var folded = graph.AddConstant(fq.ModuleName + ".folded", QuantMath.FakeQuantize(constant, p));
            graph.ReplaceAllUsesWith(fq.Output, folded);
            graph.RemoveNode(fq);
            return;
        }
        var prefix = fq.ModuleName;
        var shape = BroadcastShape(x, fq, p);
        var scale = graph.AddConstant(prefix + ".s", Tensor.FromFloats(p.Scale, shape));
        var zero = graph.AddConstant(prefix + ".z", Tensor.FromFloats(p.ZeroPoint.Select(z => (float)z).ToArray(), shape));
        var qmin = graph.AddConstant(prefix + ".qmin", Tensor.Scalar(p.QMin));
        var qmax = graph.AddConstant(prefix + ".qmax", Tensor.Scalar(p.QMax));
        var div = graph.AddNode("Div", [x, scale], moduleName: prefix + ".div", after: fq);
        var round = graph.AddNode("Round", [div.Output], moduleName: prefix + ".round", after: div);
        var add = graph.AddNode("Add", [round.Output, zero], moduleName: prefix + ".add_zp", after: round);
        var clip = graph.AddNode("Clip", [add.Output, qmin, qmax], moduleName: prefix + ".clip", after: add);
        var sub = graph.AddNode("Sub", [clip.Output, zero], moduleName: prefix + ".sub_zp", after: clip);
        var mul = graph.AddNode("Mul", [sub.Output, scale], moduleName: prefix + ".mul", after: sub);
        foreach (var n in new[] { div, round, add, clip, sub, mul })
        {
            n.Output.ElementType = ElementType.Float;
        }
        var name = fq.Output.Name;
        var wasOutput = fq.Output.IsGraphOutput;
        graph.ReplaceAllUsesWith(fq.Output, mul.Output);
        graph.RemoveNode(fq);
        if (!wasOutput)
        {
            // The quantized value keeps the FakeQuant's output name, so it can still be tapped after lowering.
            graph.RenameValue(mul.Output, name);
        }
    }

    /// <summary>
    /// A layer whose input and weight are both fake-quantized gets an int32 bias on the grid s_x·s_w when exported
    /// (QdqExport); the simulation rounds its bias to the same grid so the two agree.
    /// </summary>
    private static void RoundBiasToExportGrid(Graph graph, Node layer)
    {
        if (layer.InputOrNull(2) is not { ConstantValue: { ElementType: ElementType.Float } bias }
            || layer.Input(0).Producer is not { } inputFq || !FakeQuantOp.Is(inputFq) || !FakeQuantOp.IsEnabled(inputFq)
            || layer.Input(1).Producer is not { } weightFq || !FakeQuantOp.Is(weightFq) || !FakeQuantOp.IsEnabled(weightFq)
            || layer.OpType == "Gemm" && (layer.GetFloat("alpha", 1f) != 1f || layer.GetFloat("beta", 1f) != 1f))
        {
            return;
        }
        var input = FakeQuantOp.Read(inputFq);
        var weight = FakeQuantOp.Read(weightFq);
        if (input.IsPerChannel)
        {
            return;
        }
        var values = bias.ToArray<float>();
        if (weight.Scale.Length != 1 && weight.Scale.Length != values.Length)
        {
            return;
        }
        for (var c = 0; c < values.Length; c++)
        {
            var step = input.Scale[0] * weight.Scale[weight.Scale.Length == 1 ? 0 : c];
            values[c] = (float)(Math.Round(values[c] / (double)step, MidpointRounding.ToEven) * step);
        }
        var rounded = graph.AddConstant(layer.ModuleName + ".bias_on_grid", Tensor.FromFloats(values, bias.Shape.ToArray()));
        layer.SetInput(2, rounded);
    }

    private static long[] BroadcastShape(Value x, Node fq, QParams p)
    {
        if (!p.IsPerChannel)
        {
            return [p.Count];
        }
        var rank = x.Shape?.Count ?? x.ConstantValue?.Rank
            ?? throw new SharpQuantException($"per-channel quantizer '{fq.ModuleName}' needs the rank of its input");
        var axis = p.Axis!.Value < 0 ? p.Axis.Value + rank : p.Axis.Value;
        var shape = Enumerable.Repeat(1L, rank - axis).ToArray();
        shape[0] = p.Count;
        return shape;
    }
}
