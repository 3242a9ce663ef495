namespace SharpQuant.Passes;

/// <summary>
/// A layer with a constant weight whose output channels and input channels can be scaled: Conv, ConvTranspose,
/// Gemm or MatMul. It hides the weight layouts (Conv [out, in/g, k…], ConvTranspose [in, out/g, k…], Gemm with or
/// without transB, MatMul [in, out]) behind per-channel ranges and per-channel scaling. Edits replace the weight
/// and bias constants through the graph (a weight shared with another node is copied first).
/// </summary>
public sealed class LinearLayer
{
    private LinearLayer(Node node, int outChannels, int inChannels, int groups, int kernelSize, WeightLayout layout)
    {
        Node = node;
        OutChannels = outChannels;
        InChannels = inChannels;
        Groups = groups;
        KernelSize = kernelSize;
        Layout = layout;
    }

    private enum WeightLayout
    {
        OutInKernel,
        InOutKernel,
        InOut,
    }

    public Node Node { get; }
    /// <summary>The current weight tensor (read through the node, so edits by another view are seen).</summary>
    public Tensor Weight => Node.Input(1).ConstantValue!;
    public int OutChannels { get; }
    public int InChannels { get; }
    public int Groups { get; }
    public int KernelSize { get; }
    private WeightLayout Layout { get; }

    /// <summary>A depthwise convolution: one group per channel, as many outputs as inputs.</summary>
    public bool IsDepthwise => Node.OpType == "Conv" && Groups > 1 && Groups == InChannels && OutChannels == InChannels;

    public static bool IsLinearOp(Node node) =>
        node.OpType is "Conv" or "ConvTranspose" or "Gemm" or "MatMul" && node.IsStandardOnnx;

    /// <summary>The layer view of <paramref name="node"/>, or null with the reason it cannot be one.</summary>
    public static LinearLayer? TryCreate(Node node, out string? reason)
    {
        reason = null;
        if (!IsLinearOp(node))
        {
            reason = $"{node.OpType} is not a linear layer";
            return null;
        }
        if (node.ConstantInput(1) is not { } w)
        {
            reason = "its weight is not a constant";
            return null;
        }
        if (w.ElementType != ElementType.Float)
        {
            reason = $"its weight is {w.ElementType.DisplayName()}, not float32";
            return null;
        }
        var s = w.Shape;
        switch (node.OpType)
        {
            case "Conv" when s.Count >= 3:
            {
                var groups = (int)node.GetInt("group", 1);
                return new LinearLayer(node, (int)s[0], (int)s[1] * groups, groups, (int)Shapes.ElementCount(s.Skip(2).ToArray()), WeightLayout.OutInKernel);
            }
            case "ConvTranspose" when s.Count >= 3:
            {
                var groups = (int)node.GetInt("group", 1);
                return new LinearLayer(node, (int)s[1] * groups, (int)s[0], groups, (int)Shapes.ElementCount(s.Skip(2).ToArray()), WeightLayout.InOutKernel);
            }
            case "Gemm" when s.Count == 2 && node.GetInt("transA", 0) == 0:
                return node.GetInt("transB", 0) == 1
                    ? new LinearLayer(node, (int)s[0], (int)s[1], 1, 1, WeightLayout.OutInKernel)
                    : new LinearLayer(node, (int)s[1], (int)s[0], 1, 1, WeightLayout.InOut);
            case "MatMul" when s.Count == 2:
                return new LinearLayer(node, (int)s[1], (int)s[0], 1, 1, WeightLayout.InOut);
            default:
                reason = $"{node.OpType} with weight shape {Shapes.Format(s)} is not supported";
                return null;
        }
    }

    public static LinearLayer Create(Node node) =>
        TryCreate(node, out var reason) ?? throw new SharpQuantException($"'{node.ModuleName}' cannot be used as a linear layer: {reason}");

    /// <summary>Visits the weight as runs of consecutive elements that share one output and one input channel.</summary>
    private void ForEachRun(Action<int, int, int, int> visit)
    {
        int outPerGroup = OutChannels / Groups, inPerGroup = InChannels / Groups;
        switch (Layout)
        {
            case WeightLayout.OutInKernel:
                for (var o = 0; o < OutChannels; o++)
                {
                    var groupStart = o / outPerGroup * inPerGroup;
                    for (var i = 0; i < inPerGroup; i++)
                    {
                        visit(o, groupStart + i, (o * inPerGroup + i) * KernelSize, KernelSize);
                    }
                }
                break;
            case WeightLayout.InOutKernel:
                for (var c = 0; c < InChannels; c++)
                {
                    var groupStart = c / inPerGroup * outPerGroup;
                    for (var j = 0; j < outPerGroup; j++)
                    {
                        visit(groupStart + j, c, (c * outPerGroup + j) * KernelSize, KernelSize);
                    }
                }
                break;
            case WeightLayout.InOut:
                for (var c = 0; c < InChannels; c++)
                {
                    for (var o = 0; o < OutChannels; o++)
                    {
                        visit(o, c, c * OutChannels + o, 1);
                    }
                }
                break;
        }
    }

    /// <summary>Per-output-channel range of the weight.</summary>
    public double[] OutputRanges(RangeMode mode) => Ranges(mode, byOutput: true);

    /// <summary>Per-input-channel range of the weight (over every output and kernel position reading that channel).</summary>
    public double[] InputRanges(RangeMode mode) => Ranges(mode, byOutput: false);

    private double[] Ranges(RangeMode mode, bool byOutput)
    {
        var count = byOutput ? OutChannels : InChannels;
        var min = new float[count];
        var max = new float[count];
        Array.Fill(min, float.PositiveInfinity);
        Array.Fill(max, float.NegativeInfinity);
        var data = Weight;
        ForEachRun((o, c, start, length) =>
        {
            var run = data.Floats.Slice(start, length);
            var k = byOutput ? o : c;
            for (var i = 0; i < run.Length; i++)
            {
                var v = run[i];
                if (float.IsNaN(v))
                {
                    // A NaN makes the whole channel's range unusable; equalization then leaves it alone.
                    min[k] = float.NaN;
                    max[k] = float.NaN;
                    return;
                }
                if (v < min[k])
                {
                    min[k] = v;
                }
                if (v > max[k])
                {
                    max[k] = v;
                }
            }
        });
        var ranges = new double[count];
        for (var k = 0; k < count; k++)
        {
            ranges[k] = mode == RangeMode.MaxAbs ? Math.Max(Math.Abs((double)min[k]), Math.Abs((double)max[k])) : (double)max[k] - min[k];
        }
        return ranges;
    }

    /// <summary>Per-output-channel sum of squared weights.</summary>
    public double[] OutputSquaredNorms() => SquaredNorms(byOutput: true);

    /// <summary>Per-input-channel sum of squared weights.</summary>
    public double[] InputSquaredNorms() => SquaredNorms(byOutput: false);

    private double[] SquaredNorms(bool byOutput)
    {
        var norms = new double[byOutput ? OutChannels : InChannels];
        var data = Weight;
        ForEachRun((o, c, start, length) =>
        {
            var run = data.Floats.Slice(start, length);
            norms[byOutput ? o : c] += System.Numerics.Tensors.TensorPrimitives.Dot<float>(run, run);
        });
        return norms;
    }

    /// <summary>Multiplies output channel o of the weight (and of the bias) by <paramref name="factors"/>[o].</summary>
    public void ScaleOutputChannels(IReadOnlyList<double> factors, bool includeBias = true)
    {
        var w = WritableWeight();
        ForEachRun((o, _, start, length) => Multiply(w.Floats.Slice(start, length), factors[o]));
        if (includeBias && BiasOrNull() is { } bias)
        {
            var b = bias.ToArray();
            for (var o = 0; o < b.Length; o++)
            {
                b[o] = (float)(b[o] * factors[o]);
            }
            SetBias(b);
        }
    }

    /// <summary>Multiplies every weight reading input channel c by <paramref name="factors"/>[c]. The bias is unaffected.</summary>
    public void ScaleInputChannels(IReadOnlyList<double> factors)
    {
        var w = WritableWeight();
        ForEachRun((_, c, start, length) => Multiply(w.Floats.Slice(start, length), factors[c]));
    }

    /// <summary>Sum over kernel positions and input channels of W[o, c, …]·x[c]: the output shift a constant input x causes.</summary>
    public double[] ApplyToConstantInput(IReadOnlyList<double> x)
    {
        var result = new double[OutChannels];
        var data = Weight;
        ForEachRun((o, c, start, length) =>
        {
            if (x[c] == 0)
            {
                return;
            }
            double sum = 0;
            foreach (var v in data.Floats.Slice(start, length))
            {
                sum += v;
            }
            result[o] += sum * x[c];
        });
        return result;
    }

    private static void Multiply(Span<float> run, double factor)
    {
        var f = (float)factor;
        System.Numerics.Tensors.TensorPrimitives.Multiply(run, f, run);
    }

    /// <summary>The bias per output channel, or null when the layer has none.</summary>
    public float[]? BiasOrNull()
    {
        var bias = Node.InputOrNull(2);
        if (bias is null || Node.OpType == "MatMul")
        {
            return null;
        }
        if (bias.ConstantValue is not { } t)
        {
            throw new SharpQuantException($"'{Node.ModuleName}' has a computed bias; SharpQuant only edits constant biases");
        }
        var values = t.ToArray<float>();
        var beta = Node.OpType == "Gemm" ? Node.GetFloat("beta", 1f) : 1f;
        if (values.Length == OutChannels)
        {
            return beta == 1f ? values : values.Select(v => v * beta).ToArray();
        }
        if (values.Length == 1)
        {
            return Enumerable.Repeat(values[0] * beta, OutChannels).ToArray();
        }
        throw new SharpQuantException($"'{Node.ModuleName}' has a bias of shape {Shapes.Format(t.Shape)}, which does not broadcast per output channel");
    }

    /// <summary>The bias, or zeros when the layer has none (a MatMul has none and cannot get one).</summary>
    public float[] BiasOrZeros() => BiasOrNull() ?? new float[OutChannels];

    public bool CanHaveBias => Node.OpType != "MatMul";

    /// <summary>Replaces (or creates) the bias as a constant of shape [out].</summary>
    public void SetBias(float[] bias)
    {
        if (!CanHaveBias)
        {
            throw new SharpQuantException($"'{Node.ModuleName}' is a MatMul, which has no bias input");
        }
        var graph = Node.Owner;
        var tensor = Tensor.FromFloats(bias, bias.Length);
        if (Node.OpType == "Gemm")
        {
            Node.SetAttribute("beta", AttributeValue.Of(1f));
        }
        var current = Node.InputOrNull(2);
        if (current is { IsConstant: true } && current.Uses.Count == 1 && !current.IsGraphOutput)
        {
            graph.SetConstantValue(current, tensor);
        }
        else
        {
            Node.SetInput(2, graph.AddConstant(Node.ModuleName + ".bias", tensor));
        }
    }

    private Tensor WritableWeight()
    {
        var value = Node.Input(1);
        if (value.Uses.Count > 1 || value.IsGraphOutput)
        {
            // Shared weights are copied, so scaling this layer never changes another.
            var copy = Node.Owner.AddConstant(Node.ModuleName + ".weight", value.ConstantValue!.Clone());
            Node.SetInput(1, copy);
            value = copy;
        }
        else
        {
            Node.Owner.SetConstantValue(value, value.ConstantValue!);
        }
        return value.ConstantValue!;
    }
}
