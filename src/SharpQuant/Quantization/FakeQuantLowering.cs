namespace SharpQuant.Quantization;

/// <summary>
/// Rewrites FakeQuant nodes into standard ONNX so ONNX Runtime can run the simulation at any bit width:
/// x̂ = (Clip(Round(x / s) + z, qmin, qmax) − z) · s with Div, Round, Add, Clip, Sub and Mul (Round is
/// half-to-even in ONNX, as in the formulas). A disabled FakeQuant becomes the identity. Per-channel scale and
/// zero point are reshaped to broadcast along their axis. FakeQuants of constants (weights) are folded into
/// constants with the same formulas in C#. A convolution whose input, weight and output are all quantized is lowered
/// the way ONNX Runtime's QLinearConv computes it (<see cref="IntegerConvUnit"/>), so the simulation and the QDQ export
/// agree value for value. The opset is raised to 13 where needed (Round and Clip with tensor bounds need 11).
/// </summary>
public static class FakeQuantLowering
{
    public const long MinimumOpset = 13;

    /// <param name="keep">
    /// Values to keep computable (taps). The float value an integer unit's output quantizer reads is not on the
    /// integer path; when it is tapped, the float convolution (and ReLU) that computes it stays beside the unit.
    /// </param>
    public static Graph Lower(Graph graph, IReadOnlyCollection<string>? keep = null)
    {
        var fakeQuants = graph.Nodes.Where(FakeQuantOp.Is).ToList();
        if (fakeQuants.Count == 0)
        {
            return graph;
        }
        var lowered = graph.Clone();
        Passes.OpsetUpgrade.RaiseTo(lowered, MinimumOpset);
        // Found before anything is rewritten: a unit reads its quantizers' parameters and the original bias.
        var integerUnits = IntegerConvUnit.Find(lowered);
        if (lowered.Nodes.Any(n => n.OpType == "Add" && n.Inputs.Any(i => i?.Shape is null)))
        {
            // An Add unit needs both shapes (the kernel computes broadcasts in another order); the C# rules take microseconds.
            Runtime.ShapeInference.TryInferStatic(lowered);
        }
        var addUnits = IntegerAddUnit.Find(lowered);
        foreach (var layer in lowered.Nodes.Where(n => n.OpType is "Conv" or "Gemm").ToList())
        {
            RoundBiasToExportGrid(lowered, layer);
        }
        // Graph order is topological, so a unit's input quantizer is lowered (and its integers known) before the unit.
        var integers = new Dictionary<Node, Value>(ReferenceEqualityComparer.Instance);
        foreach (var fq in lowered.Nodes.Where(FakeQuantOp.Is).ToList())
        {
            if (integerUnits.TryGetValue(fq, out var unit) && integers.TryGetValue(unit.InputFakeQuant, out var input))
            {
                LowerIntegerUnit(lowered, unit, input, integers);
            }
            else if (addUnits.TryGetValue(fq, out var addUnit) && integers.TryGetValue(addUnit.InputA, out var a) && integers.TryGetValue(addUnit.InputB, out var b))
            {
                LowerIntegerAdd(lowered, addUnit, a, b, integers);
            }
            else
            {
                LowerOne(lowered, fq, integers);
            }
        }
        lowered.RemoveUnused(keep);
        return lowered;
    }

    private static void LowerOne(Graph graph, Node fq, Dictionary<Node, Value> integers)
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
        var scale = graph.AddConstant(fq.ModuleName + ".s", Tensor.FromFloats(p.Scale, BroadcastShape(x, fq, p)));
        var div = graph.AddNode("Div", [x, scale], moduleName: fq.ModuleName + ".div", after: fq);
        div.Output.ElementType = ElementType.Float;
        FinishActivation(graph, fq, p, div, scale, integers);
    }

    /// <summary>
    /// The rest of a FakeQuant once its input is on the grid's scale (x / s): Round, Add z, Clip, Sub z, then
    /// Mul s back to floats. The centred integers (q − z) are recorded for integer units that read this quantizer.
    /// With <paramref name="zeroPointAdded"/> the input already includes z (an integer Add unit's kernel adds it
    /// before rounding), so only Round, Clip, Sub z and Mul s follow.
    /// </summary>
    private static void FinishActivation(Graph graph, Node fq, QParams p, Node scaled, Value scale, Dictionary<Node, Value> integers, bool zeroPointAdded = false)
    {
        var prefix = fq.ModuleName;
        var zero = graph.AddConstant(prefix + ".z", Tensor.FromFloats(p.ZeroPoint.Select(z => (float)z).ToArray(), scale.ConstantValue!.Shape.ToArray()));
        var qmin = graph.AddConstant(prefix + ".qmin", Tensor.Scalar(p.QMin));
        var qmax = graph.AddConstant(prefix + ".qmax", Tensor.Scalar(p.QMax));
        var round = graph.AddNode("Round", [scaled.Output], moduleName: prefix + ".round", after: scaled);
        var onGrid = zeroPointAdded ? round : graph.AddNode("Add", [round.Output, zero], moduleName: prefix + ".add_zp", after: round);
        var clip = graph.AddNode("Clip", [onGrid.Output, qmin, qmax], moduleName: prefix + ".clip", after: onGrid);
        var sub = graph.AddNode("Sub", [clip.Output, zero], moduleName: prefix + ".sub_zp", after: clip);
        var mul = graph.AddNode("Mul", [sub.Output, scale], moduleName: prefix + ".mul", after: sub);
        foreach (var n in new[] { round, onGrid, clip, sub, mul })
        {
            n.Output.ElementType = ElementType.Float;
        }
        if (!p.IsPerChannel)
        {
            integers[fq] = sub.Output;
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
    /// A Conv unit as QLinearConv computes it (see <see cref="IntegerConvUnit"/>): the convolution of the input's
    /// centred integers with the integer weight and bias, times the multiplier M, through the ReLU, then the output
    /// quantizer from its Round on.
    /// </summary>
    private static void LowerIntegerUnit(Graph graph, IntegerConvUnit unit, Value input, Dictionary<Node, Value> integers)
    {
        var conv = unit.Conv;
        var prefix = conv.ModuleName + ".integer";
        var weight = unit.IntegerWeight();
        var channels = (int)weight.Shape[0];
        // [C, 1, …, 1]: broadcasts along the output's channel axis whatever the number of spatial dimensions.
        var channelShape = Enumerable.Repeat(1L, weight.Rank - 1).ToArray();
        channelShape[0] = channels;
        var bias = unit.IntegerBias();
        var inputs = new List<Value?> { input, graph.AddConstant(prefix + ".weight", weight) };
        var wideBias = bias is not null && IntegerConvUnit.NeedsInt32Bias(bias);
        if (bias is not null && !wideBias)
        {
            inputs.Add(graph.AddConstant(prefix + ".bias", Tensor.FromFloats(bias.Select(b => (float)b).ToArray(), bias.Length)));
        }
        var accumulate = graph.AddNode("Conv", inputs, moduleName: prefix + ".conv", attributes: conv.Attributes, after: unit.OutputFakeQuant);
        accumulate.Output.ElementType = ElementType.Float;
        if (wideBias)
        {
            var toInt = graph.AddNode("Cast", [accumulate.Output], moduleName: prefix + ".to_int32", after: accumulate,
                attributes: new Dictionary<string, AttributeValue> { ["to"] = AttributeValue.Of((long)ElementType.Int32) });
            toInt.Output.ElementType = ElementType.Int32;
            var add = graph.AddNode("Add", [toInt.Output, graph.AddConstant(prefix + ".bias", Tensor.Create(bias!, channelShape))], moduleName: prefix + ".add_bias", after: toInt);
            add.Output.ElementType = ElementType.Int32;
            accumulate = graph.AddNode("Cast", [add.Output], moduleName: prefix + ".to_float", after: add,
                attributes: new Dictionary<string, AttributeValue> { ["to"] = AttributeValue.Of((long)ElementType.Float) });
            accumulate.Output.ElementType = ElementType.Float;
        }
        var multiplier = graph.AddConstant(prefix + ".multiplier", Tensor.FromFloats(unit.Multipliers(channels), channelShape));
        var scaled = graph.AddNode("Mul", [accumulate.Output, multiplier], moduleName: prefix + ".requantize", after: accumulate);
        if (unit.Relu is not null)
        {
            scaled = graph.AddNode("Relu", [scaled.Output], moduleName: prefix + ".relu", after: scaled);
        }
        scaled.Output.ElementType = ElementType.Float;
        var fq = unit.OutputFakeQuant;
        var scale = graph.AddConstant(fq.ModuleName + ".s", Tensor.FromFloats(unit.Output.Scale, unit.Output.Count));
        FinishActivation(graph, fq, unit.Output, scaled, scale, integers);
    }

    /// <summary>
    /// An Add unit as QLinearAdd computes it (see <see cref="IntegerAddUnit"/>): each fused multiply-add in float64
    /// (exact there) rounded once to float32, then the output quantizer from its Round on.
    /// </summary>
    private static void LowerIntegerAdd(Graph graph, IntegerAddUnit unit, Value centredA, Value centredB, Dictionary<Node, Value> integers)
    {
        var prefix = unit.Add.ModuleName + ".integer";
        var (ratioA, ratioB, fixedPart) = unit.KernelConstants();
        var after = unit.OutputFakeQuant;

        Node Op(string op, string name, params Value[] inputs)
        {
            var node = graph.AddNode(op, inputs, moduleName: prefix + "." + name, after: after);
            after = node;
            return node;
        }
        Node Cast(string name, Value value, ElementType to)
        {
            var node = graph.AddNode("Cast", [value], moduleName: prefix + "." + name, after: after,
                attributes: new Dictionary<string, AttributeValue> { ["to"] = AttributeValue.Of((long)to) });
            node.Output.ElementType = to;
            after = node;
            return node;
        }
        Value Double(string name, double value) => graph.AddConstant(prefix + "." + name, Tensor.Create(new[] { value }, 1));
        // Raw integers: the centred values plus their zero points (exact in float32).
        Value Raw(string name, Value centred, int zeroPoint)
        {
            var raw = Op("Add", name + "_raw", centred, graph.AddConstant(prefix + "." + name + "_zp", Tensor.Scalar(zeroPoint)));
            raw.Output.ElementType = ElementType.Float;
            return Cast(name + "_f64", raw.Output, ElementType.Double).Output;
        }
        Value FusedMultiplyAdd(string name, Value x, double factor, Value addend)
        {
            var product = Op("Mul", name + "_mul", x, Double(name + "_ratio", factor));
            product.Output.ElementType = ElementType.Double;
            var sum = Op("Add", name + "_add", product.Output, addend);
            sum.Output.ElementType = ElementType.Double;
            return Cast(name + "_f32", sum.Output, ElementType.Float).Output;
        }

        var first = FusedMultiplyAdd("fma_b", Raw("b", centredB, unit.B.ZeroPoint[0]), ratioB, Double("fixed_part", fixedPart));
        var firstWide = Cast("fma_b_f64", first, ElementType.Double);
        var second = FusedMultiplyAdd("fma_a", Raw("a", centredA, unit.A.ZeroPoint[0]), ratioA, firstWide.Output);
        var fq = unit.OutputFakeQuant;
        var scale = graph.AddConstant(fq.ModuleName + ".s", Tensor.FromFloats(unit.Output.Scale, unit.Output.Count));
        FinishActivation(graph, fq, unit.Output, second.Producer!, scale, integers, zeroPointAdded: true);
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
            values[c] = (float)(QuantMath.QuantizeBias(values[c], step) * (double)step);
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
