using System.Numerics.Tensors;

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
    public Tensor Weight => WeightValue(Node)!.ConstantValue!;

    /// <summary>
    /// The constant holding a layer's float weight: input 1 itself, or the constant behind the FakeQuant a
    /// quantization simulation put there. Null when the weight is computed.
    /// </summary>
    public static Value? WeightValue(Node node)
    {
        var input = node.InputOrNull(1);
        if (input is { IsConstant: true })
        {
            return input;
        }
        return input?.Producer is { OpType: "FakeQuant", Domain: OnnxOps.SharpQuantDomain } fq && fq.Input(0).IsConstant ? fq.Input(0) : null;
    }
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
        if (WeightValue(node)?.ConstantValue is not { } w)
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
    public double[] OutputRanges(RangeMode mode) => Stats(byOutput: true).Ranges(mode);

    /// <summary>Per-input-channel range of the weight (over every output and kernel position reading that channel).</summary>
    public double[] InputRanges(RangeMode mode) => Stats(byOutput: false).Ranges(mode);

    /// <summary>Per-output-channel sum of squared weights.</summary>
    public double[] OutputSquaredNorms() => Stats(byOutput: true).SquaredNorms;

    /// <summary>Per-input-channel sum of squared weights.</summary>
    public double[] InputSquaredNorms() => Stats(byOutput: false).SquaredNorms;

    /// <summary>Minimum, maximum and sum of squares per channel, in one pass over the weight.</summary>
    public ChannelStatistics Stats(bool byOutput)
    {
        var w = Weight.Floats;
        var rows = RowCount;
        var rowLength = w.Length / rows;
        if (byOutput == RowsAreOutputs)
        {
            // The channel is a whole contiguous row: reduce each row with vectorized kernels.
            var min = new float[rows];
            var max = new float[rows];
            var squares = new double[rows];
            for (var r = 0; r < rows; r++)
            {
                var row = w.Slice(r * rowLength, rowLength);
                min[r] = TensorPrimitives.Min(row);
                max[r] = TensorPrimitives.Max(row);
                squares[r] = TensorPrimitives.Dot(row, row);
            }
            return new ChannelStatistics(min, max, squares);
        }
        // The channel is a column block of each row (KernelSize wide): accumulate element-wise over rows into
        // per-position buffers covering all column channels, then reduce each block.
        var columns = byOutput ? OutChannels : InChannels;
        var width = columns * KernelSize;
        var minAll = new float[width];
        var maxAll = new float[width];
        var sumAll = new float[width];
        Array.Fill(minAll, float.PositiveInfinity);
        Array.Fill(maxAll, float.NegativeInfinity);
        for (var r = 0; r < rows; r++)
        {
            var row = w.Slice(r * rowLength, rowLength);
            var offset = ColumnOffset(r) * KernelSize;
            var minSlice = minAll.AsSpan(offset, rowLength);
            var maxSlice = maxAll.AsSpan(offset, rowLength);
            var sumSlice = sumAll.AsSpan(offset, rowLength);
            TensorPrimitives.Min(row, minSlice, minSlice);
            TensorPrimitives.Max(row, maxSlice, maxSlice);
            TensorPrimitives.MultiplyAdd(row, row, sumSlice, sumSlice);
        }
        var minC = new float[columns];
        var maxC = new float[columns];
        var squaresC = new double[columns];
        for (var c = 0; c < columns; c++)
        {
            minC[c] = TensorPrimitives.Min(minAll.AsSpan(c * KernelSize, KernelSize));
            maxC[c] = TensorPrimitives.Max(maxAll.AsSpan(c * KernelSize, KernelSize));
            squaresC[c] = TensorPrimitives.Sum(sumAll.AsSpan(c * KernelSize, KernelSize));
        }
        return new ChannelStatistics(minC, maxC, squaresC);
    }

    /// <summary>Rows of the weight as stored: output channels for Conv and Gemm with transB, input channels otherwise.</summary>
    private bool RowsAreOutputs => Layout == WeightLayout.OutInKernel;

    private int RowCount => RowsAreOutputs ? OutChannels : InChannels;

    /// <summary>The first column channel that row r reaches (its group's first channel on the other side).</summary>
    private int ColumnOffset(int row)
    {
        if (Layout == WeightLayout.InOut)
        {
            return 0;
        }
        int rowsPerGroup = RowCount / Groups, columnsPerGroup = (RowsAreOutputs ? InChannels : OutChannels) / Groups;
        return row / rowsPerGroup * columnsPerGroup;
    }

    /// <summary>Multiplies output channel o of the weight (and of the bias) by <paramref name="factors"/>[o].</summary>
    public void ScaleOutputChannels(IReadOnlyList<double> factors, bool includeBias = true)
    {
        Scale(factors, byOutput: true);
        if (includeBias && BiasOrNull() is { } bias)
        {
            for (var o = 0; o < bias.Length; o++)
            {
                bias[o] = (float)(bias[o] * factors[o]);
            }
            SetBias(bias);
        }
    }

    /// <summary>Multiplies every weight reading input channel c by <paramref name="factors"/>[c]. The bias is unaffected.</summary>
    public void ScaleInputChannels(IReadOnlyList<double> factors) => Scale(factors, byOutput: false);

    private void Scale(IReadOnlyList<double> factors, bool byOutput)
    {
        var w = WritableWeight().Floats;
        var rows = RowCount;
        var rowLength = w.Length / rows;
        if (byOutput == RowsAreOutputs)
        {
            for (var r = 0; r < rows; r++)
            {
                var row = w.Slice(r * rowLength, rowLength);
                TensorPrimitives.Multiply(row, (float)factors[r], row);
            }
            return;
        }
        // Each column channel's factor repeated over its kernel positions, so every row is one vector multiply.
        var columns = byOutput ? OutChannels : InChannels;
        var expanded = new float[columns * KernelSize];
        for (var c = 0; c < columns; c++)
        {
            expanded.AsSpan(c * KernelSize, KernelSize).Fill((float)factors[c]);
        }
        for (var r = 0; r < rows; r++)
        {
            var row = w.Slice(r * rowLength, rowLength);
            TensorPrimitives.Multiply(row, expanded.AsSpan(ColumnOffset(r) * KernelSize, rowLength), row);
        }
    }

    /// <summary>Sum over kernel positions and input channels of W[o, c, …]·x[c]: the output shift a constant input x causes.</summary>
    public double[] ApplyToConstantInput(IReadOnlyList<double> x) => ApplyWeights(this, Weight, x);

    /// <summary>Σ over c and kernel positions of <paramref name="weights"/>[o, c, …]·x[c], for a tensor laid out like the layer's weight.</summary>
    public static double[] ApplyWeights(LinearLayer layer, Tensor weights, IReadOnlyList<double> x)
    {
        var result = new double[layer.OutChannels];
        layer.ForEachRun((o, c, start, length) =>
        {
            if (x[c] == 0)
            {
                return;
            }
            double sum = 0;
            foreach (var v in weights.Floats.Slice(start, length))
            {
                sum += v;
            }
            result[o] += sum * x[c];
        });
        return result;
    }

    /// <summary>
    /// True when the bias is computed by other ops (not a constant): SharpQuant cannot edit it, so steps that must
    /// change it (scaling the layer's outputs, absorbing or correcting biases) skip the layer and say so.
    /// </summary>
    public bool HasComputedBias => CanHaveBias && Node.InputOrNull(2) is { IsConstant: false };

    /// <summary>Why this layer's bias cannot be edited, or null when it can.</summary>
    public string? BiasEditObstacle => HasComputedBias ? $"'{Node.ModuleName}' has a computed bias; SharpQuant only edits constant biases" : null;

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
            throw new SharpQuantException(BiasEditObstacle!);
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
        var value = WeightValue(Node)!;
        if (value.Uses.Count > 1 || value.IsGraphOutput)
        {
            // Shared weights are copied, so scaling this layer never changes another.
            var copy = Node.Owner.AddConstant(Node.ModuleName + ".weight", value.ConstantValue!.Clone());
            var holder = ReferenceEquals(Node.Input(1), value) ? Node : Node.Input(1).Producer!;
            holder.SetInput(ReferenceEquals(Node.Input(1), value) ? 1 : 0, copy);
            value = copy;
        }
        else
        {
            Node.Owner.SetConstantValue(value, value.ConstantValue!);
        }
        return value.ConstantValue!;
    }
}
