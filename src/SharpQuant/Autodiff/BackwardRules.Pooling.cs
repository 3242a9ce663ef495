namespace SharpQuant.Autodiff;

internal sealed partial class BackwardRules
{
    /// <summary>
    /// Each output's gradient goes to the input element that won its window: a second MaxPool with the same
    /// attributes returns the winners' flat indices (batch and channel offsets included), and ScatterElements with
    /// reduction add accumulates where windows overlap.
    /// </summary>
    private Value MaxPool(Node node, Value dy)
    {
        var x = node.Input(0);
        if (node.GetInt("storage_order", 0) != 0)
        {
            throw new UnsupportedOpException("MaxPool", Graph.DisplayName(node), "cannot build the gradient graph: storage_order 1 has no backward rule");
        }
        var attributes = node.Attributes.Select(kv => (kv.Key, (object)kv.Value)).ToArray();
        var pooled = _emit.OpMulti("MaxPool", 2, [x], attributes);
        var indices = pooled[1].WithType(ElementType.Int64);
        var flat = _emit.Ints(-1);
        var zeros = _emit.Reshape(_emit.Filled(x, 0f), flat);
        var scattered = _emit.Op("ScatterElements", [zeros, _emit.Reshape(indices, flat), _emit.Reshape(dy, flat)], ("axis", 0L), ("reduction", "add"));
        return _emit.ReshapeLike(scattered, x);
    }

    /// <summary>
    /// The adjoint of averaging is a depthwise ConvTranspose with an all-ones kernel of dy divided by each window's
    /// divisor: the kernel size, or with count_include_pad = 0 the number of real (unpadded) elements in the window.
    /// </summary>
    private Value AveragePool(Node node, Value dy)
    {
        var x = node.Input(0);
        if (node.GetInt("ceil_mode", 0) != 0)
        {
            throw new UnsupportedOpException("AveragePool", Graph.DisplayName(node), "cannot build the gradient graph: ceil_mode 1 has no backward rule");
        }
        var g = ConvGeometry.Of(node, x, x, node.Output, transposed: false);
        var channels = StaticDim(x, 1, node);
        var windowSize = g.Kernel.Aggregate(1L, (a, b) => a * b);
        Value scaled;
        if (node.GetInt("count_include_pad", 0) != 0 || g.Pads.All(p => p == 0))
        {
            scaled = _emit.Mul(dy, _emit.Scalar(1f / windowSize));
        }
        else
        {
            var onesShape = new long[] { 1, 1 }.Concat(g.InputSize).ToArray();
            var ones = _emit.Constant(Filled(onesShape, 1f));
            var attributes = node.Attributes.Where(kv => kv.Key != "count_include_pad").Select(kv => (kv.Key, (object)kv.Value))
                .Append(("count_include_pad", (object)1L)).ToArray();
            var fraction = _emit.Op("AveragePool", [ones], attributes);
            var counts = _emit.Mul(fraction, _emit.Scalar(windowSize));
            scaled = _emit.Div(dy, counts);
        }
        var kernelShape = new long[] { channels, 1 }.Concat(g.Kernel).ToArray();
        var kernel = _emit.Constant(Filled(kernelShape, 1f));
        var outputPadding = new long[g.Spatial];
        for (var i = 0; i < g.Spatial; i++)
        {
            outputPadding[i] = g.InputSize[i] - (((g.OutputSize[i] - 1) * g.Strides[i]) + g.EffectiveKernel(i) - g.Pads[i] - g.Pads[i + g.Spatial]);
        }
        return _emit.Op("ConvTranspose", [scaled, kernel],
            ("strides", g.Strides), ("dilations", g.Dilations), ("pads", g.Pads), ("group", channels), ("output_padding", outputPadding),
            ("kernel_shape", g.Kernel));
    }

    /// <summary>Inference BatchNormalization y = (x − μ)/√(σ² + ε) · γ + β, all five inputs differentiable.</summary>
    private void BatchNormalization(Node node, bool[] needs, Value?[] grads, Value dy)
    {
        var x = node.Input(0);
        var gamma = node.Input(1);
        var mean = node.Input(3);
        var rank = RankOf(x);
        var epsilon = node.GetFloat("epsilon", 1e-5f);
        var channelShape = _emit.Ints(new long[] { -1 }.Concat(Enumerable.Repeat(1L, rank - 2)).ToArray());
        var inverseStd = _emit.Op("Reciprocal", [_emit.Op("Sqrt", [_emit.Add(node.Input(4), _emit.Scalar(epsilon))])]);
        var perChannel = AllBut(1, rank);
        if (needs[0])
        {
            grads[0] = _emit.Mul(dy, _emit.Reshape(_emit.Mul(gamma, inverseStd), channelShape));
        }
        var sumDy = needs[2] || needs[3] ? _emit.ReduceSum(dy, perChannel, keepDims: false) : null;
        var sumDyCentered = needs[1] || needs[4]
            ? _emit.ReduceSum(_emit.Mul(dy, _emit.Sub(x, _emit.Reshape(mean, channelShape))), perChannel, keepDims: false)
            : null;
        if (needs[1])
        {
            grads[1] = _emit.Mul(sumDyCentered!, inverseStd);
        }
        if (needs[2])
        {
            grads[2] = sumDy;
        }
        if (needs[3])
        {
            grads[3] = _emit.Neg(_emit.Mul(sumDy!, _emit.Mul(gamma, inverseStd)));
        }
        if (needs[4])
        {
            // d/dσ² of (σ² + ε)^(−1/2) is −½ (σ² + ε)^(−3/2).
            var cube = _emit.Mul(inverseStd, _emit.Mul(inverseStd, inverseStd));
            grads[4] = _emit.Mul(_emit.Mul(sumDyCentered!, gamma), _emit.Mul(cube, _emit.Scalar(-0.5f)));
        }
    }

    /// <summary>
    /// Nearest Resize copies one input element to each output element. Resizing a tensor of flat spatial indices
    /// the same way gives, for every output position, its source; ScatterElements with reduction add then sums dy
    /// back, whatever the coordinate transformation and rounding mode.
    /// </summary>
    private Value Resize(Node node, Value dy)
    {
        var x = node.Input(0);
        if (node.GetString("mode", "nearest") != "nearest")
        {
            throw new UnsupportedOpException("Resize", Graph.DisplayName(node), "cannot build the gradient graph: only nearest mode has a backward rule");
        }
        var rank = RankOf(x);
        var spatial = Enumerable.Range(2, rank - 2).Select(i => StaticDim(x, i, node)).ToArray();
        var count = spatial.Aggregate(1L, (a, b) => a * b);
        var iota = new float[count];
        for (var i = 0; i < count; i++)
        {
            iota[i] = i;
        }
        var positions = _emit.Constant(Tensor.FromFloats(iota, new long[] { 1, 1 }.Concat(spatial).ToArray()));
        var attributes = node.Attributes.Select(kv => (kv.Key, (object)kv.Value)).ToArray();
        Value? scales = node.InputOrNull(2) is { ConstantValue: { ElementCount: > 0 } s } ? node.InputOrNull(2) : null;
        Value resized;
        if (scales is not null)
        {
            var factors = scales.ConstantValue!.ToArray<float>();
            if (factors[0] != 1f || factors[1] != 1f)
            {
                throw new UnsupportedOpException("Resize", Graph.DisplayName(node), "cannot build the gradient graph: only spatial resizing has a backward rule");
            }
            resized = _emit.Op("Resize", [positions, node.InputOrNull(1), scales], attributes);
        }
        else
        {
            var outSpatial = _emit.Op("Slice", [_emit.Shape(node.Output), _emit.Ints(2), _emit.Ints(rank), _emit.Ints(0)]).WithType(ElementType.Int64);
            var sizes = _emit.OpTyped("Concat", ElementType.Int64, [_emit.Ints(1, 1), outSpatial], ("axis", 0L));
            resized = _emit.Op("Resize", [positions, node.InputOrNull(1), null, sizes], attributes);
        }
        var sources = _emit.Reshape(_emit.Cast(resized, ElementType.Int64), _emit.Ints(1, 1, -1));
        var dyFlat = _emit.Reshape(dy, _emit.Ints(0, 0, -1));
        var index = _emit.OpTyped("Expand", ElementType.Int64, [sources, _emit.Shape(dyFlat)]);
        var zeros = _emit.Reshape(_emit.Filled(x, 0f), _emit.Ints(0, 0, -1));
        var scattered = _emit.Op("ScatterElements", [zeros, index, dyFlat], ("axis", 2L), ("reduction", "add"));
        return _emit.ReshapeLike(scattered, x);
    }

    private static Tensor Filled(long[] shape, float value)
    {
        var data = new float[Shapes.ElementCount(shape)];
        Array.Fill(data, value);
        return Tensor.FromFloats(data, shape);
    }
}
