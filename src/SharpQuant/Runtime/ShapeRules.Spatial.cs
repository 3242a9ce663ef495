namespace SharpQuant.Runtime;

/// <summary>Shape rules of the linear, convolution, pooling and resizing ops.</summary>
internal static partial class ShapeRules
{
    /// <summary>Numpy matmul: 1-D operands are promoted and the promoted axis dropped again; batch axes broadcast.</summary>
    private static ValueFacts[]? MatMul(ValueFacts a, ValueFacts b)
    {
        if (a.Rank == 0 || b.Rank == 0)
        {
            return null;
        }
        var left = a.Rank == 1 ? [1, a.Shape[0]] : a.Shape;
        var right = b.Rank == 1 ? [b.Shape[0], 1] : b.Shape;
        if (left[^1] != right[^2] || BroadcastShapes([left[..^2], right[..^2]]) is not { } batch)
        {
            return null;
        }
        var shape = new List<long>(batch);
        if (a.Rank > 1)
        {
            shape.Add(left[^2]);
        }
        if (b.Rank > 1)
        {
            shape.Add(right[^1]);
        }
        return [new ValueFacts(a.Type, shape.ToArray())];
    }

    private static ValueFacts[]? Gemm(Node node, ValueFacts a, ValueFacts b)
    {
        if (a.Rank != 2 || b.Rank != 2)
        {
            return null;
        }
        var transA = node.GetInt("transA", 0) != 0;
        var transB = node.GetInt("transB", 0) != 0;
        var (m, k) = transA ? (a.Shape[1], a.Shape[0]) : (a.Shape[0], a.Shape[1]);
        var (kb, n) = transB ? (b.Shape[1], b.Shape[0]) : (b.Shape[0], b.Shape[1]);
        return k == kb ? [new ValueFacts(a.Type, [m, n])] : null;
    }

    /// <summary>Kernel, strides, dilations and pads of a convolution or pooling node over <paramref name="spatial"/> axes.</summary>
    private readonly record struct Window(long[] Kernel, long[] Strides, long[] Dilations, long[] Pads, string AutoPad)
    {
        public static Window? Of(Node node, long[]? kernel, int spatial)
        {
            kernel ??= node.GetInts("kernel_shape");
            var strides = node.GetInts("strides") ?? Ones(spatial);
            var dilations = node.GetInts("dilations") ?? Ones(spatial);
            var pads = node.GetInts("pads") ?? new long[2 * spatial];
            var autoPad = node.GetString("auto_pad", "NOTSET");
            if (kernel is null || kernel.Length != spatial || strides.Length != spatial || dilations.Length != spatial || pads.Length != 2 * spatial
                || kernel.Any(k => k < 1) || strides.Any(s => s < 1) || dilations.Any(d => d < 1) || pads.Any(p => p < 0))
            {
                return null;
            }
            return new Window(kernel, strides, dilations, pads, autoPad);
        }

        private static long[] Ones(int n) => Enumerable.Repeat(1L, n).ToArray();

        /// <summary>
        /// Output size along spatial axis <paramref name="i"/> (ONNX Runtime's ComputePadAndOutputShape): SAME pads to
        /// ⌈in / stride⌉, VALID drops the pads, NOTSET uses them. Null when undecided: SAME with dilation (ONNX Runtime
        /// pads for the undilated kernel), or a ceil_mode whose result differs from floor (ONNX Runtime versions
        /// differ on dropping a last window that starts in the padding).
        /// </summary>
        public long? OutputSize(int i, long input, bool ceilMode)
        {
            switch (AutoPad)
            {
                case "SAME_UPPER" or "SAME_LOWER":
                    return Dilations[i] == 1 ? (input + Strides[i] - 1) / Strides[i] : null;
                case "VALID":
                    return Size(input, 0, i, ceilMode);
                case "NOTSET" or "":
                    return Size(input, Pads[i] + Pads[i + Kernel.Length], i, ceilMode);
                default:
                    return null;
            }
        }

        private long? Size(long input, long pads, int i, bool ceilMode)
        {
            var span = input + pads - (Dilations[i] * (Kernel[i] - 1)) - 1;
            if (span < 0)
            {
                return null;
            }
            var floor = (span / Strides[i]) + 1;
            var ceil = ((span + Strides[i] - 1) / Strides[i]) + 1;
            return !ceilMode || floor == ceil ? floor : null;
        }
    }

    private static ValueFacts[]? Conv(Node node, ValueFacts x, ValueFacts w)
    {
        var spatial = x.Rank - 2;
        var group = node.GetInt("group", 1);
        if (spatial < 1 || w.Rank != x.Rank || group < 1 || x.Shape[1] != w.Shape[1] * group || w.Shape[0] % group != 0
            || Window.Of(node, node.GetInts("kernel_shape") ?? w.Shape[2..], spatial) is not { } window)
        {
            return null;
        }
        var shape = new long[x.Rank];
        shape[0] = x.Shape[0];
        shape[1] = w.Shape[0];
        for (var i = 0; i < spatial; i++)
        {
            if (window.OutputSize(i, x.Shape[i + 2], ceilMode: false) is not { } size)
            {
                return null;
            }
            shape[i + 2] = size;
        }
        return [new ValueFacts(x.Type, shape)];
    }

    /// <summary>
    /// ConvTranspose: an explicit output_shape wins; else (in − 1)·stride + output_padding + dilated kernel − pads.
    /// SAME auto-padding is left to ONNX Runtime.
    /// </summary>
    private static ValueFacts[]? ConvTranspose(Node node, ValueFacts x, ValueFacts w)
    {
        var spatial = x.Rank - 2;
        var group = node.GetInt("group", 1);
        if (spatial < 1 || w.Rank != x.Rank || group < 1 || x.Shape[1] != w.Shape[0]
            || Window.Of(node, node.GetInts("kernel_shape") ?? w.Shape[2..], spatial) is not { } window
            || window.AutoPad is not ("NOTSET" or "" or "VALID"))
        {
            return null;
        }
        var outputPadding = node.GetInts("output_padding") ?? new long[spatial];
        var outputShape = node.GetInts("output_shape");
        if (outputPadding.Length != spatial || outputShape is not (null or { Length: > 0 }) || (outputShape is not null && outputShape.Length != spatial && outputShape.Length != x.Rank))
        {
            return null;
        }
        var shape = new long[x.Rank];
        shape[0] = x.Shape[0];
        shape[1] = w.Shape[1] * group;
        for (var i = 0; i < spatial; i++)
        {
            if (outputShape is not null)
            {
                shape[i + 2] = outputShape[outputShape.Length - spatial + i];
                continue;
            }
            var pads = window.AutoPad == "VALID" ? 0 : window.Pads[i] + window.Pads[i + spatial];
            var size = ((x.Shape[i + 2] - 1) * window.Strides[i]) + outputPadding[i] + (window.Dilations[i] * (window.Kernel[i] - 1)) + 1 - pads;
            if (size < 1)
            {
                return null;
            }
            shape[i + 2] = size;
        }
        return [new ValueFacts(x.Type, shape)];
    }

    private static ValueFacts[]? Pool(Node node, ValueFacts x)
    {
        var spatial = x.Rank - 2;
        if (spatial < 1 || Window.Of(node, null, spatial) is not { } window)
        {
            return null;
        }
        var ceilMode = node.GetInt("ceil_mode", 0) != 0;
        var shape = new long[x.Rank];
        shape[0] = x.Shape[0];
        shape[1] = x.Shape[1];
        for (var i = 0; i < spatial; i++)
        {
            if (window.OutputSize(i, x.Shape[i + 2], ceilMode) is not { } size)
            {
                return null;
            }
            shape[i + 2] = size;
        }
        var output = new ValueFacts(x.Type, shape);
        return node.Outputs.Count switch
        {
            1 => [output],
            2 when node.OpType == "MaxPool" => [output, new ValueFacts(ElementType.Int64, shape)],
            _ => null,
        };
    }

    private static ValueFacts[]? GlobalPool(ValueFacts x) =>
        x.Rank < 3 ? null : [new ValueFacts(x.Type, x.Shape.Select((d, i) => i < 2 ? d : 1).ToArray())];

    /// <summary>
    /// Resize (and Upsample): sizes when given, else ⌊scale · in⌋ computed in single precision as ONNX Runtime does
    /// (static_cast&lt;int64_t&gt;(scales[i] * input_dims[i]) with float scales). Crop-and-resize and opset 18's axes and
    /// aspect-ratio policy are left to ONNX Runtime.
    /// </summary>
    private static ValueFacts[]? Resize(Node node, NodeFacts inputs, long opset)
    {
        var x = inputs[0];
        if (node.GetString("coordinate_transformation_mode", "half_pixel") == "tf_crop_and_resize"
            || node.Attributes.ContainsKey("axes") || node.GetString("keep_aspect_ratio_policy", "stretch") != "stretch")
        {
            return null;
        }
        float[]? scales;
        if (node.OpType == "Upsample" && opset < 9)
        {
            scales = node.Attributes.TryGetValue("scales", out var a) ? a.AsFloats() : null;
        }
        else if (node.OpType == "Upsample" || opset < 11)
        {
            scales = ConstantFloats(node, 1);
        }
        else
        {
            if (inputs.Optional(3) is { } sizes && Shapes.ElementCount(sizes.Shape) > 0)
            {
                return sizes.Ints is { } given && given.Length == x.Rank && given.All(d => d >= 0) ? [new ValueFacts(x.Type, given)] : null;
            }
            scales = ConstantFloats(node, 2);
        }
        if (scales is null || scales.Length != x.Rank || scales.Any(s => !(s > 0)))
        {
            return null;
        }
        return [new ValueFacts(x.Type, x.Shape.Select((d, i) => (long)(scales[i] * (float)d)).ToArray())];
    }

    private static float[]? ConstantFloats(Node node, int input) =>
        node.ConstantInput(input) is { ElementType: ElementType.Float } t ? t.ToArray<float>() : null;
}
