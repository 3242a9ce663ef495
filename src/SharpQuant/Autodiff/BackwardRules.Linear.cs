namespace SharpQuant.Autodiff;

internal sealed partial class BackwardRules
{
    /// <summary>
    /// Grouped convolutions with kernels up to 3×3 get their weight gradient by unfolding (k copies of the input);
    /// larger ones by the batch/channel-swapped convolution. (Ungrouped ones: <see cref="WeightGradByGather"/>.)
    /// </summary>
    private const long MaxUnfoldedKernel = 9;

    /// <summary>
    /// <see cref="WeightGradByGather"/> copies one channel row per window position: with fewer channels than this the
    /// rows are too short to copy efficiently (ResNet18's RGB stem, 3 channels: 35 ms to gather 59 MB at batch 8, where
    /// 64 channels gather 58 MB in 2 ms), and <see cref="WeightGradBySlices"/>, whose copies are whole rows of
    /// positions, is used instead; with many channels the Gather's single pass wins (measured on the whole graph).
    /// </summary>
    private const long MinGatheredChannels = 16;

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
            var inChannels = StaticDim(x, 1, node);
            var outChannels = StaticDim(node.Output, 1, node);
            grads[0] = g.Strides.All(s => s == 1) && FlippedPads(g) is { } flippedPads
                ? _emit.Op("Conv", [dy, FlipTransposed(w, inChannels, outChannels, g)],
                    ("dilations", g.Dilations), ("pads", flippedPads), ("group", g.Group), ("kernel_shape", g.Kernel))
                : g.Group == 1 && inChannels < MinGatheredChannels
                    ? InputGradByPhases(dy, w, inChannels, outChannels, g)
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
    /// The strided transposed convolution split by output phase: input position y = Q·s + a − pad receives, for
    /// phase a, the kernel taps k with k·d ≡ a (mod s), each from dY at Q − ⌊k·d/s⌋. All phases are one unit-stride
    /// Conv of dY whose s·C output channels are the phases' kernels, followed by interleaving the phases and cropping
    /// the padding. Used for few input channels (the RGB stem's input gradient), where ONNX Runtime's ConvTranspose
    /// spends most of its time scattering 49 kernel taps into 3 channels (68 ms at batch 8, against 13 ms for the
    /// forward convolution); a constant weight makes the phase kernel a constant the blocked Conv prepacks.
    /// </summary>
    private Value InputGradByPhases(Value dy, Value w, long inChannels, long outChannels, ConvGeometry g)
    {
        var spatial = g.Spatial;
        var taps = new long[spatial];
        var grid = new long[spatial];
        for (var i = 0; i < spatial; i++)
        {
            taps[i] = (((g.Kernel[i] - 1) * g.Dilations[i]) / g.Strides[i]) + 1;
            var cells = (g.Pads[i] + g.InputSize[i] + g.Strides[i] - 1) / g.Strides[i];
            grid[i] = Math.Max(cells, g.OutputSize[i]);
        }
        var phases = g.Strides.Aggregate(1L, (a, b) => a * b);
        var phaseKernel = taps.Aggregate(1L, (a, b) => a * b);
        var kernelSize = g.Kernel.Aggregate(1L, (a, b) => a * b);
        // source[p, τ]: the flat kernel position that phase p's tap τ reads, or kernelSize (a zero) where none does.
        var source = new long[phases * phaseKernel];
        Array.Fill(source, kernelSize);
        var k = new long[spatial];
        for (var q = 0L; q < kernelSize; q++)
        {
            Unravel(q, g.Kernel, k);
            var phase = 0L;
            var tap = 0L;
            for (var i = 0; i < spatial; i++)
            {
                var offset = k[i] * g.Dilations[i];
                phase = (phase * g.Strides[i]) + (offset % g.Strides[i]);
                tap = (tap * taps[i]) + (taps[i] - 1 - (offset / g.Strides[i]));
            }
            source[(phase * phaseKernel) + tap] = q;
        }
        var kernelShape = new long[] { phases * inChannels, outChannels }.Concat(taps).ToArray();
        Value kernel;
        if (w.ConstantValue is { } constant)
        {
            var weights = constant.ToArray<float>();
            var values = new float[phases * inChannels * outChannels * phaseKernel];
            for (var p = 0L; p < phases; p++)
            {
                for (var c = 0L; c < inChannels; c++)
                {
                    for (var m = 0L; m < outChannels; m++)
                    {
                        for (var t = 0L; t < phaseKernel; t++)
                        {
                            var from = source[(p * phaseKernel) + t];
                            values[((((p * inChannels) + c) * outChannels) + m) * phaseKernel + t] =
                                from == kernelSize ? 0f : weights[(((m * inChannels) + c) * kernelSize) + from];
                        }
                    }
                }
            }
            kernel = _emit.Constant(Tensor.FromFloats(values, kernelShape));
        }
        else
        {
            // W [M, C, k] → [C, M, k + one zero] → taps of every phase [C, M, phases, taps] → [phases·C, M, taps].
            var flat = _emit.Reshape(_emit.Transpose(w, SwapFirst(spatial + 2)), _emit.Ints(inChannels, outChannels, kernelSize));
            var withZero = _emit.Op("Pad", [flat, _emit.Ints(0, 0, 0, 0, 0, 1)], ("mode", "constant"));
            var gathered = _emit.Op("Gather", [withZero, _emit.Constant(Tensor.Create(source, phases, phaseKernel))], ("axis", 2L));
            kernel = _emit.Reshape(_emit.Transpose(gathered, [2, 0, 1, 3]), _emit.Ints(kernelShape));
        }
        var pads = taps.Select(t => t - 1).Concat(grid.Zip(g.OutputSize, (q, o) => q - o)).ToArray();
        var conv = _emit.Op("Conv", [dy, kernel], ("pads", pads), ("kernel_shape", taps));
        // [N, s1·s2·…·C, Q1, Q2, …] → [N, s1, s2, …, C, Q…] → [N, C, Q1, s1, Q2, s2, …] → [N, C, Q1·s1, …], cropped.
        var split = new long[] { -1 }.Concat(g.Strides).Append(inChannels).Concat(grid).ToArray();
        var perm = new List<long> { 0, spatial + 1 };
        for (var i = 0; i < spatial; i++)
        {
            perm.Add(spatial + 2 + i);
            perm.Add(1 + i);
        }
        var merged = new long[] { -1, inChannels }.Concat(grid.Zip(g.Strides, (q, s) => q * s)).ToArray();
        var interleaved = _emit.Reshape(_emit.Transpose(_emit.Reshape(conv, _emit.Ints(split)), perm.ToArray()), _emit.Ints(merged));
        var axes = Enumerable.Range(2, spatial).Select(i => (long)i).ToArray();
        var begins = g.Pads.Take(spatial).ToArray();
        return _emit.Op("Slice", [interleaved, _emit.Ints(begins), _emit.Ints(begins.Zip(g.InputSize, (b, n) => b + n).ToArray()), _emit.Ints(axes)]);
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
    /// Ungrouped: <see cref="WeightGradByGather"/>. Grouped: the input is unfolded into its patches by a Conv with one-hot kernels ([N·C, 1, H, W] → [N·C, k, L]: im2col as
    /// an ONNX op), then one batched MatMul per sample and group contracts the L output positions, and the samples
    /// are summed: the same multiply-adds as the forward, in ONNX Runtime's GEMM.
    /// </summary>
    private Value WeightGrad(Value input, long channels, long[] inputSize, Value outGrad, long outChannels, long[] outputSize, ConvGeometry g)
    {
        if (g.Group == 1)
        {
            return channels < MinGatheredChannels
                ? WeightGradBySlices(input, channels, inputSize, outGrad, outChannels, outputSize, g)
                : WeightGradByGather(input, channels, inputSize, outGrad, outChannels, outputSize, g);
        }
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
        Value summed;
        if (outPerGroup >= positions)
        {
            // Few positions, many output channels (ResNet18's 14×14 and 7×7 stages): per-sample products would be N
            // weight-sized tensors to sum (a ReduceSum of 30 ms per 3×3×512×512 weight at batch 8); moving the batch
            // next to the positions costs less (patches and dY are smaller than N weights) and one GEMM contracts N·L.
            var pAll = _emit.Reshape(_emit.Transpose(p, [1, 2, 0, 3]), _emit.Ints(g.Group, inPerGroup * kernelSize, -1));
            var dAll = _emit.Reshape(_emit.Transpose(d, [1, 2, 0, 3]), _emit.Ints(g.Group, outPerGroup, -1));
            summed = _emit.Op("MatMul", [dAll, _emit.Transpose(pAll, [0, 2, 1])]);
        }
        else
        {
            var product = _emit.Op("MatMul", [d, _emit.Transpose(p, [0, 1, 3, 2])]);
            summed = _emit.ReduceSum(product, [0], keepDims: false);
        }
        return _emit.Reshape(summed, _emit.Ints(new long[] { outChannels, inPerGroup }.Concat(g.Kernel).ToArray()));
    }

    /// <summary>
    /// The weight gradient of an ungrouped convolution as one GEMM over batch and positions:
    /// dW[o, (k, i)] = Σ_(n, p) outGrad[o, (n, p)] · patches[(n, p), (k, i)]. The input, padded and laid out channels
    /// last as [N, positions, C], gives the patches with one Gather of whole channel rows along the positions
    /// (indices fixed at build time: each output position's window, kernel positions in order), already in the
    /// [N·L, K·C] layout the GEMM reads. ONNX Runtime runs this without the blocked-layout reorders, the zero channels
    /// (9 unfolded positions padded to 16) and the unfolding multiply-adds of a one-hot Conv, for any kernel, stride
    /// and dilation; only the small [M, K, C] result is transposed to the weight's [M, C, K].
    /// </summary>
    private Value WeightGradByGather(Value input, long channels, long[] inputSize, Value outGrad, long outChannels, long[] outputSize, ConvGeometry g)
    {
        var spatial = g.Spatial;
        var padded = new long[spatial];
        for (var i = 0; i < spatial; i++)
        {
            padded[i] = inputSize[i] + g.Pads[i] + g.Pads[i + spatial];
        }
        var x = input;
        if (g.Pads.Any(p => p != 0))
        {
            var pads = new long[] { 0, 0 }.Concat(g.Pads.Take(spatial)).Concat([0, 0]).Concat(g.Pads.Skip(spatial)).ToArray();
            x = _emit.Op("Pad", [x, _emit.Ints(pads)], ("mode", "constant"));
        }
        var positionsIn = padded.Aggregate(1L, (a, b) => a * b);
        var channelsLast = new long[] { 0 }.Concat(Enumerable.Range(2, spatial).Select(i => (long)i)).Append(1L).ToArray();
        var rows = _emit.Reshape(_emit.Transpose(x, channelsLast), _emit.Ints(-1, positionsIn, channels));
        var kernelSize = g.Kernel.Aggregate(1L, (a, b) => a * b);
        var positions = outputSize.Aggregate(1L, (a, b) => a * b);
        var window = WindowIndices(padded, outputSize, g);
        var identity = kernelSize == 1 && positions == positionsIn && window.Select((v, i) => v == i).All(same => same);
        var patches = identity
            ? rows
            : _emit.Op("Gather", [rows, _emit.Constant(Tensor.Create(window, positions, kernelSize))], ("axis", 1L));
        var columns = _emit.Reshape(patches, _emit.Ints(-1, kernelSize * channels));
        var gradRows = _emit.Reshape(_emit.Transpose(outGrad, SwapFirst(spatial + 2)), _emit.Ints(outChannels, -1));
        var product = _emit.Op("MatMul", [gradRows, columns]);
        var byChannel = kernelSize == 1 ? product : _emit.Transpose(_emit.Reshape(product, _emit.Ints(outChannels, kernelSize, channels)), [0, 2, 1]);
        return _emit.Reshape(byChannel, _emit.Ints(new long[] { outChannels, channels }.Concat(g.Kernel).ToArray()));
    }

    /// <summary>
    /// The weight gradient of an ungrouped convolution as one GEMM whose large operand needs no repacking:
    /// dWᵀ[(i, k), o] = Σ_(n, p) patches[(i, k), (n, p)] · outGrad[(n, p), o]. The padded input is split into its
    /// stride phases and laid out [C, phases, N, flat positions]; a kernel position then reads, in every phase row, one
    /// contiguous run of flat positions (the output rows at full padded width: the extra columns meet zeros padded
    /// onto outGrad), so its patches are one Slice and all of them one Concat, in the weight's (i, k) order.
    /// </summary>
    private Value WeightGradBySlices(Value input, long channels, long[] inputSize, Value outGrad, long outChannels, long[] outputSize, ConvGeometry g)
    {
        var spatial = g.Spatial;
        var kernelSize = g.Kernel.Aggregate(1L, (a, b) => a * b);
        // Per axis: the phase and shift of each kernel offset, and the phase-grid size Q (every read fits; the first
        // axis one more row so the last run's overhang stays inside).
        var maxShift = new long[spatial];
        for (var i = 0; i < spatial; i++)
        {
            maxShift[i] = ((g.Kernel[i] - 1) * g.Dilations[i]) / g.Strides[i];
        }
        var grid = new long[spatial];
        for (var i = 0; i < spatial; i++)
        {
            grid[i] = outputSize[i] + maxShift[i] + (i == 0 ? 1 : 0);
        }
        var x = input;
        var beginPads = new long[spatial];
        var endPads = new long[spatial];
        var crop = false;
        for (var i = 0; i < spatial; i++)
        {
            beginPads[i] = g.Pads[i];
            endPads[i] = (grid[i] * g.Strides[i]) - inputSize[i] - g.Pads[i];
            crop |= endPads[i] < 0;
        }
        if (crop)
        {
            // Rows past the phase grid are read by no output; drop them so only non-negative pads remain.
            var axes = Enumerable.Range(2, spatial).Select(i => (long)i).ToArray();
            var ends = inputSize.Select((n, i) => Math.Min(n, n + endPads[i])).ToArray();
            x = _emit.Op("Slice", [x, _emit.Ints(new long[spatial]), _emit.Ints(ends), _emit.Ints(axes)]);
            endPads = endPads.Select(p => Math.Max(0, p)).ToArray();
        }
        if (beginPads.Concat(endPads).Any(p => p != 0))
        {
            x = _emit.Op("Pad", [x, _emit.Ints(new long[] { 0, 0 }.Concat(beginPads).Concat([0, 0]).Concat(endPads).ToArray())], ("mode", "constant"));
        }
        var phases = g.Strides.Aggregate(1L, (a, b) => a * b);
        var cells = grid.Aggregate(1L, (a, b) => a * b);
        // [N, C, Q1, s1, Q2, s2, ...] → [C, s1, s2, ..., N, Q1, Q2, ...] → [C, phases, N, cells].
        var split = new List<long> { -1, channels };
        for (var i = 0; i < spatial; i++)
        {
            split.Add(grid[i]);
            split.Add(g.Strides[i]);
        }
        var perm = new List<long> { 1 };
        perm.AddRange(Enumerable.Range(0, spatial).Select(i => 3L + (2 * i)));
        perm.Add(0);
        perm.AddRange(Enumerable.Range(0, spatial).Select(i => 2L + (2 * i)));
        var phased = _emit.Reshape(_emit.Transpose(_emit.Reshape(x, _emit.Ints(split.ToArray())), perm.ToArray()), _emit.Ints(channels, phases, -1, cells));
        var rowLength = grid.Skip(1).Aggregate(1L, (a, b) => a * b);
        var run = outputSize[0] * rowLength;
        var pieces = new Value[kernelSize];
        var k = new long[spatial];
        for (var q = 0L; q < kernelSize; q++)
        {
            Unravel(q, g.Kernel, k);
            var phase = 0L;
            var start = 0L;
            for (var i = 0; i < spatial; i++)
            {
                var offset = k[i] * g.Dilations[i];
                phase = (phase * g.Strides[i]) + (offset % g.Strides[i]);
                start = (start * grid[i]) + (offset / g.Strides[i]);
            }
            pieces[q] = _emit.Op("Slice", [phased, _emit.Ints(phase, start), _emit.Ints(phase + 1, start + run), _emit.Ints(1, 3)]);
        }
        var patches = kernelSize == 1 ? pieces[0] : _emit.Op("Concat", pieces, ("axis", 1L));
        var rows = _emit.Reshape(patches, _emit.Ints(channels * kernelSize, -1));
        // outGrad [N, M, O1, O2, ...] padded to [N, M, O1, Q2, ...], so its positions match the runs.
        var dy = outGrad;
        if (spatial > 1 && grid.Skip(1).Zip(outputSize.Skip(1)).Any(p => p.First != p.Second))
        {
            var ends = new long[] { 0, 0, 0 }.Concat(grid.Skip(1).Zip(outputSize.Skip(1), (q, o) => q - o)).ToArray();
            dy = _emit.Op("Pad", [dy, _emit.Ints(new long[spatial + 2].Concat(ends).ToArray())], ("mode", "constant"));
        }
        // outGrad as [M, N·positions] (swapping batch and channels moves whole rows); the GEMM reads it transposed,
        // which ONNX Runtime folds into the packing of this small operand (an explicit [N, positions, M] Transpose of
        // the stem's gradient cost 12 ms).
        var gradRows = _emit.Reshape(_emit.Transpose(_emit.Reshape(dy, _emit.Ints(0, outChannels, -1)), [1, 0, 2]), _emit.Ints(outChannels, -1));
        var transposed = _emit.Op("MatMul", [rows, _emit.Transpose(gradRows, [1, 0])]);
        return _emit.Reshape(_emit.Transpose(transposed, [1, 0]), _emit.Ints(new long[] { outChannels, channels }.Concat(g.Kernel).ToArray()));
    }

    /// <summary>
    /// For each output position (row-major) and kernel position (row-major), the flat index into the padded input
    /// that the window reads: Σ_axis (o·stride + k·dilation) · (the padded size of the later axes).
    /// </summary>
    private static long[] WindowIndices(long[] padded, long[] outputSize, ConvGeometry g)
    {
        var spatial = g.Spatial;
        var positions = outputSize.Aggregate(1L, (a, b) => a * b);
        var kernelSize = g.Kernel.Aggregate(1L, (a, b) => a * b);
        var result = new long[positions * kernelSize];
        var o = new long[spatial];
        var k = new long[spatial];
        for (var p = 0L; p < positions; p++)
        {
            Unravel(p, outputSize, o);
            for (var q = 0L; q < kernelSize; q++)
            {
                Unravel(q, g.Kernel, k);
                var flat = 0L;
                for (var i = 0; i < spatial; i++)
                {
                    flat = (flat * padded[i]) + (o[i] * g.Strides[i]) + (k[i] * g.Dilations[i]);
                }
                result[(p * kernelSize) + q] = flat;
            }
        }
        return result;
    }

    private static void Unravel(long index, long[] sizes, long[] coordinates)
    {
        for (var i = sizes.Length - 1; i >= 0; i--)
        {
            coordinates[i] = index % sizes[i];
            index /= sizes[i];
        }
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
