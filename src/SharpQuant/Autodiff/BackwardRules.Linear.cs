namespace SharpQuant.Autodiff;

internal sealed partial class BackwardRules
{
    /// <summary>
    /// Kernels up to 3×3 get their weight gradient by unfolding (k copies of the input); larger ones (ResNet18's 7×7
    /// stem: 49 copies, 0.6 s of unfolding at batch 8) by the batch/channel-swapped convolution.
    /// </summary>
    private const long MaxUnfoldedKernel = 9;

    /// <summary>dA = dY·Bᵀ, dB = Aᵀ·dY over the last two axes, summed over broadcast batch axes.</summary>
    private void MatMul(Node node, bool[] needs, Value?[] grads, Value dy)
    {
        var a = node.Input(0);
        var b = node.Input(1);
        var rankA = RankOf(a);
        var rankB = RankOf(b);
        if (rankA < 2 || rankB < 2)
        {
            throw new UnsupportedOpException("MatMul", Graph.DisplayName(node), "cannot build the gradient graph: only operands of rank 2 or more have a backward rule");
        }
        if (needs[0])
        {
            grads[0] = ReduceTo(_emit.Op("MatMul", [dy, _emit.Transpose(b, SwapLast(rankB))]), node.Output, a);
        }
        if (needs[1])
        {
            var db = _emit.Op("MatMul", [_emit.Transpose(a, SwapLast(rankA)), dy]);
            grads[1] = ReduceToMatMulOperand(db, b, RankOf(node.Output));
        }
    }

    /// <summary>Aᵀ·dY has the output's batch axes; sum those the operand lacks or broadcast.</summary>
    private Value ReduceToMatMulOperand(Value grad, Value operand, int outRank)
    {
        var rank = RankOf(operand);
        var result = grad;
        if (outRank > rank)
        {
            result = _emit.ReduceSum(result, Enumerable.Range(0, outRank - rank).Select(i => (long)i).ToArray(), keepDims: false);
        }
        return result;
    }

    private static long[] SwapLast(int rank)
    {
        var perm = Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
        (perm[rank - 2], perm[rank - 1]) = (perm[rank - 1], perm[rank - 2]);
        return perm;
    }

    /// <summary>Y = α·op(A)·op(B) + β·C, each gradient one Gemm with the transposes arranged so no Transpose node is needed.</summary>
    private void Gemm(Node node, bool[] needs, Value?[] grads, Value dy)
    {
        var a = node.Input(0);
        var b = node.Input(1);
        var alpha = node.GetFloat("alpha", 1f);
        var beta = node.GetFloat("beta", 1f);
        var transA = node.GetInt("transA", 0);
        var transB = node.GetInt("transB", 0);
        if (needs[0])
        {
            grads[0] = transA == 0
                ? _emit.Op("Gemm", [dy, b], ("alpha", alpha), ("transB", 1 - transB))
                : _emit.Op("Gemm", [b, dy], ("alpha", alpha), ("transA", transB), ("transB", 1L));
        }
        if (needs[1])
        {
            grads[1] = transB == 0
                ? _emit.Op("Gemm", [a, dy], ("alpha", alpha), ("transA", 1 - transA))
                : _emit.Op("Gemm", [dy, a], ("alpha", alpha), ("transA", 1L), ("transB", transA));
        }
        if (node.InputOrNull(2) is { } c && needs[2])
        {
            var scaled = beta == 1f ? dy : _emit.Mul(dy, _emit.Scalar(beta));
            grads[2] = ReduceTo(scaled, node.Output, c);
        }
    }

    /// <summary>
    /// dX is the transposed convolution of dY with the same weight (output_padding restores sizes a stride does not
    /// divide); dW is a convolution of X with dY in which batch and channels trade places (see <see cref="WeightGrad"/>).
    /// </summary>
    private void Conv(Node node, bool[] needs, Value?[] grads, Value dy)
    {
        var x = node.Input(0);
        var w = node.Input(1);
        var g = ConvGeometry.Of(node, x, w, node.Output, transposed: false);
        if (needs[0])
        {
            grads[0] = g.Strides.All(s => s == 1) && FlippedPads(g) is { } flippedPads
                ? _emit.Op("Conv", [dy, FlipTransposed(w, StaticDim(x, 1, node), StaticDim(node.Output, 1, node), g)],
                    ("dilations", g.Dilations), ("pads", flippedPads), ("group", g.Group), ("kernel_shape", g.Kernel))
                : InputGradByConvTranspose(dy, w, g);
        }
        if (needs[1])
        {
            grads[1] = WeightGrad(x, StaticDim(x, 1, node), g.InputSize, dy, StaticDim(node.Output, 1, node), g.OutputSize, g);
        }
        if (node.InputOrNull(2) is not null && needs[2])
        {
            grads[2] = _emit.ReduceSum(dy, AllBut(1, g.Spatial + 2), keepDims: false);
        }
    }

    /// <summary>The adjoint pair of <see cref="Conv"/>: dX is a Conv of dY, dW the same batch/channel-swapped Conv with the roles of X and dY exchanged.</summary>
    private void ConvTranspose(Node node, bool[] needs, Value?[] grads, Value dy)
    {
        var x = node.Input(0);
        var w = node.Input(1);
        if (node.Attributes.ContainsKey("output_shape"))
        {
            throw new UnsupportedOpException("ConvTranspose", Graph.DisplayName(node), "cannot build the gradient graph: give pads rather than output_shape");
        }
        var g = ConvGeometry.Of(node, x, w, node.Output, transposed: true);
        if (needs[0])
        {
            grads[0] = _emit.Op("Conv", [dy, w],
                ("strides", g.Strides), ("dilations", g.Dilations), ("pads", g.Pads), ("group", g.Group), ("kernel_shape", g.Kernel));
        }
        if (needs[1])
        {
            // Y = ConvTranspose(X) is the adjoint of a Conv from Y's space to X's, whose weight gradient reads Y's gradient as its input.
            grads[1] = WeightGrad(dy, StaticDim(node.Output, 1, node), g.OutputSize, x, StaticDim(x, 1, node), g.InputSize, g);
        }
        if (node.InputOrNull(2) is not null && needs[2])
        {
            grads[2] = _emit.ReduceSum(dy, AllBut(1, g.Spatial + 2), keepDims: false);
        }
    }

    /// <summary>The transposed convolution of dY with the same weight: output_padding restores sizes a stride does not divide.</summary>
    private Value InputGradByConvTranspose(Value dy, Value w, ConvGeometry g)
    {
        var outputPadding = new long[g.Spatial];
        for (var i = 0; i < g.Spatial; i++)
        {
            outputPadding[i] = g.InputSize[i] - (((g.OutputSize[i] - 1) * g.Strides[i]) + g.EffectiveKernel(i) - g.Pads[i] - g.Pads[i + g.Spatial]);
        }
        return _emit.Op("ConvTranspose", [dy, w],
            ("strides", g.Strides), ("dilations", g.Dilations), ("pads", g.Pads), ("group", g.Group), ("output_padding", outputPadding),
            ("kernel_shape", g.Kernel));
    }

    /// <summary>
    /// With unit strides the transposed convolution is a plain convolution with the kernel flipped and its channel
    /// roles swapped, padded by (k − 1)·d − p. ONNX Runtime runs Conv with a constant weight in its blocked layout,
    /// several times faster than ConvTranspose (measured on ResNet18's backward); null when a pad would be negative.
    /// </summary>
    private static long[]? FlippedPads(ConvGeometry g)
    {
        var pads = new long[2 * g.Spatial];
        for (var i = 0; i < g.Spatial; i++)
        {
            pads[i] = g.EffectiveKernel(i) - 1 - g.Pads[i];
            pads[i + g.Spatial] = g.EffectiveKernel(i) - 1 - g.Pads[i + g.Spatial];
        }
        return pads.All(p => p >= 0) ? pads : null;
    }

    /// <summary>W [M, C/g, k] → W' [C, M/g, k] with every kernel reversed: the weight of the adjoint convolution.</summary>
    private Value FlipTransposed(Value w, long inChannels, long outChannels, ConvGeometry g)
    {
        var spatialAxes = Enumerable.Range(2, g.Spatial).Select(i => (long)i).ToArray();
        Value swapped;
        if (g.Group == 1)
        {
            swapped = _emit.Transpose(w, SwapFirst(g.Spatial + 2));
        }
        else
        {
            var split = new long[] { g.Group, outChannels / g.Group, inChannels / g.Group }.Concat(g.Kernel).ToArray();
            var perm = new long[] { 0, 2, 1 }.Concat(Enumerable.Range(3, g.Spatial).Select(i => (long)i)).ToArray();
            var moved = _emit.Transpose(_emit.Reshape(w, _emit.Ints(split)), perm);
            swapped = _emit.Reshape(moved, _emit.Ints(new long[] { inChannels, outChannels / g.Group }.Concat(g.Kernel).ToArray()));
        }
        // Reversing every kernel is a product with the anti-identity over the flattened kernel positions: one small
        // GEMM, where Slice with negative steps took 0.1 s per 3×3×512×512 weight fed as a parameter.
        var kernelSize = g.Kernel.Aggregate(1L, (a, b) => a * b);
        var reverse = new float[kernelSize * kernelSize];
        for (var k = 0; k < kernelSize; k++)
        {
            reverse[(k * kernelSize) + (kernelSize - 1 - k)] = 1f;
        }
        var flat = _emit.Reshape(swapped, _emit.Ints(-1, kernelSize));
        var flipped = _emit.Op("MatMul", [flat, _emit.Constant(Tensor.FromFloats(reverse, kernelSize, kernelSize))]);
        return _emit.Reshape(flipped, _emit.Ints(new long[] { inChannels, outChannels / g.Group }.Concat(g.Kernel).ToArray()));
    }

    /// <summary>
    /// The weight gradient of a convolution from <paramref name="input"/> (C channels) to an output with M channels
    /// whose gradient is <paramref name="outGrad"/>: dW[o, i, k] = Σ_n Σ_p outGrad[n, o, p] · input[n, i, p·s + k·d − pad].
    /// The input is unfolded into its patches by a Conv with one-hot kernels ([N·C, 1, H, W] → [N·C, k, L]: im2col as
    /// an ONNX op), then one batched MatMul per sample and group contracts the L output positions, and the samples
    /// are summed: the same multiply-adds as the forward, in ONNX Runtime's GEMM.
    /// </summary>
    private Value WeightGrad(Value input, long channels, long[] inputSize, Value outGrad, long outChannels, long[] outputSize, ConvGeometry g)
    {
        var kernelSize = g.Kernel.Aggregate(1L, (a, b) => a * b);
        if (kernelSize > MaxUnfoldedKernel)
        {
            return WeightGradBySwappedConv(input, channels, inputSize, outGrad, outputSize, g);
        }
        var oneHot = new float[kernelSize * kernelSize];
        for (var k = 0; k < kernelSize; k++)
        {
            oneHot[(k * kernelSize) + k] = 1f;
        }
        Value patches;
        if (kernelSize == 1 && g.Pads.All(p => p == 0))
        {
            // A 1×1 kernel's patches are the input itself, subsampled by the stride.
            var axes = Enumerable.Range(2, g.Spatial).Select(i => (long)i).ToArray();
            patches = g.Strides.All(s => s == 1)
                ? input
                : _emit.Op("Slice", [input, _emit.Ints(new long[g.Spatial]), _emit.Ints(Enumerable.Repeat(long.MaxValue, g.Spatial).ToArray()), _emit.Ints(axes), _emit.Ints(g.Strides)]);
        }
        else
        {
            var eye = _emit.Constant(Tensor.FromFloats(oneHot, new long[] { kernelSize, 1 }.Concat(g.Kernel).ToArray()));
            var planes = _emit.Reshape(input, _emit.Ints(new long[] { -1, 1 }.Concat(inputSize).ToArray()));
            patches = _emit.Op("Conv", [planes, eye],
                ("strides", g.Strides), ("dilations", g.Dilations), ("pads", g.Pads), ("kernel_shape", g.Kernel));
        }
        var positions = outputSize.Aggregate(1L, (a, b) => a * b);
        var inPerGroup = channels / g.Group;
        var outPerGroup = outChannels / g.Group;
        var p = _emit.Reshape(patches, _emit.Ints(-1, g.Group, inPerGroup * kernelSize, positions));
        var d = _emit.Reshape(outGrad, _emit.Ints(-1, g.Group, outPerGroup, positions));
        var product = _emit.Op("MatMul", [d, _emit.Transpose(p, [0, 1, 3, 2])]);
        var summed = _emit.ReduceSum(product, [0], keepDims: false);
        return _emit.Reshape(summed, _emit.Ints(new long[] { outChannels, inPerGroup }.Concat(g.Kernel).ToArray()));
    }

    /// <summary>
    /// The weight gradient for large kernels (the 7×7 stem), where unfolding the input would multiply it by the kernel size.
    /// The weight gradient of a convolution from <paramref name="input"/> (spatial size <paramref name="inputSize"/>)
    /// to an output whose gradient is <paramref name="outGrad"/>: dW[o, i, k] = Σ_n Σ_p outGrad[n, o, p] ·
    /// input[n, i, p·s + k·d − pad]. That is itself a convolution with batch and channels swapped: the input
    /// becomes [C/g, g·N, H, W] (each group's channels of every sample as that group's channels), the output
    /// gradient becomes the kernel [M, N, Ho, Wo], stride and dilation trade places, and group g keeps the groups
    /// apart (depthwise included). The result [C/g, M, k'] is transposed to [M, C/g, k'] and cropped to the kernel
    /// (k' exceeds k when the end padding leaves rows no output reads).
    /// </summary>
    private Value WeightGradBySwappedConv(Value input, long channels, long[] inputSize, Value outGrad, long[] outputSize, ConvGeometry g)
    {
        var spatial = g.Spatial;
        var perGroup = channels / g.Group;
        Value arranged;
        if (g.Group == 1)
        {
            arranged = _emit.Transpose(input, SwapFirst(spatial + 2));
        }
        else
        {
            var split = new long[] { -1, g.Group, perGroup }.Concat(inputSize).ToArray();
            var grouped = _emit.Reshape(input, _emit.Ints(split));
            var perm = new long[] { 2, 1, 0 }.Concat(Enumerable.Range(3, spatial).Select(i => (long)i)).ToArray();
            var moved = _emit.Transpose(grouped, perm);
            arranged = _emit.Reshape(moved, _emit.Ints(new long[] { perGroup, -1 }.Concat(inputSize).ToArray()));
        }
        var kernel = _emit.Transpose(outGrad, SwapFirst(spatial + 2));
        var full = new long[spatial];
        for (var i = 0; i < spatial; i++)
        {
            full[i] = ((inputSize[i] + g.Pads[i] + g.Pads[i + spatial] - (((outputSize[i] - 1) * g.Strides[i]) + 1)) / g.Dilations[i]) + 1;
        }
        var conv = _emit.Op("Conv", [arranged, kernel],
            ("strides", g.Dilations), ("dilations", g.Strides), ("pads", g.Pads), ("group", g.Group), ("kernel_shape", outputSize));
        var dw = _emit.Transpose(conv, SwapFirst(spatial + 2));
        if (full.Zip(g.Kernel).Any(p => p.First != p.Second))
        {
            var axes = Enumerable.Range(2, spatial).Select(i => (long)i).ToArray();
            dw = _emit.Op("Slice", [dw, _emit.Ints(new long[spatial]), _emit.Ints(g.Kernel), _emit.Ints(axes)]);
        }
        return dw;
    }

    private static long[] SwapFirst(int rank)
    {
        var perm = Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
        (perm[0], perm[1]) = (perm[1], perm[0]);
        return perm;
    }

    private static long[] AllBut(int axis, int rank) => Enumerable.Range(0, rank).Where(i => i != axis).Select(i => (long)i).ToArray();
}
