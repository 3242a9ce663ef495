namespace SharpQuant.Runtime;

/// <summary>
/// Per-op output types and concrete shapes, as ONNX Runtime computes them when it runs the op (ONNX operator
/// specification; where ONNX Runtime rounds differently from the specification, as Resize does, its arithmetic).
/// A rule answers null when it cannot be sure: an attribute or opset variant it does not model, or a shape that
/// depends on tensor values it does not know. Small integer tensors (Shape, Gather, Concat, Slice of shapes, ...)
/// carry their values, so Reshape and Expand read shapes computed inside the graph.
/// </summary>
internal static partial class ShapeRules
{
    public static ValueFacts[]? Infer(Node node, NodeFacts inputs, long opset)
    {
        return node.OpType switch
        {
            "Identity" => [inputs[0]],
            "Relu" or "LeakyRelu" or "PRelu" or "Sigmoid" or "Tanh" or "HardSigmoid" or "HardSwish" or "Exp" or "Log" or "Sqrt"
                or "Reciprocal" or "Abs" or "Neg" or "Round" or "Floor" or "Ceil" or "Sign" or "Erf" or "Softplus" or "Softsign"
                or "Elu" or "Selu" or "Celu" or "Gelu" or "Mish" or "Sin" or "Cos" or "Tan" or "Clip" or "Softmax" or "LogSoftmax"
                or "Hardmax" or "CumSum" or "LRN" or "InstanceNormalization" or "MeanVarianceNormalization" or "Shrink"
                or "ThresholdedRelu" or "ScatterElements" or "ScatterND" or "Scatter" => Like(inputs[0]),
            "Not" or "IsNaN" or "IsInf" => [inputs[0] with { Type = ElementType.Bool, Ints = null }],
            "BatchNormalization" or "LayerNormalization" when node.Outputs.Count == 1 => Like(inputs[0]),
            "Dropout" => Dropout(node, inputs[0]),
            "Add" or "Sub" or "Mul" or "Div" => Arithmetic(node.OpType, inputs),
            "Pow" or "Mod" or "BitShift" or "Max" or "Min" or "Sum" or "Mean" => Broadcast(inputs, inputs[0].Type),
            "Equal" or "Greater" or "Less" or "GreaterOrEqual" or "LessOrEqual" or "And" or "Or" or "Xor" => Broadcast(inputs, ElementType.Bool),
            "Where" => Broadcast(inputs, inputs[1].Type),
            "Cast" => Cast(inputs[0], (ElementType)node.GetInt("to", 0)),
            "CastLike" => Cast(inputs[0], inputs[1].Type),
            "Shape" => Shape(node, inputs[0], opset),
            "Size" => [new ValueFacts(ElementType.Int64, [], [Shapes.ElementCount(inputs[0].Shape)])],
            "Constant" => Constant(node),
            "ConstantOfShape" => ConstantOfShape(node, inputs),
            "Reshape" => Reshape(node, inputs),
            "Flatten" => Flatten(node, inputs[0]),
            "Squeeze" => Squeeze(node, inputs, opset),
            "Unsqueeze" => Unsqueeze(node, inputs, opset),
            "Transpose" => Transpose(node, inputs[0]),
            "Concat" => Concat(node, inputs),
            "Split" => Split(node, inputs, opset),
            "Slice" => Slice(node, inputs, opset),
            "Gather" => Gather(node, inputs),
            "Expand" => Expand(inputs),
            "Tile" => Tile(inputs),
            "Pad" => Pad(node, inputs, opset),
            "ReduceSum" or "ReduceMean" or "ReduceMax" or "ReduceMin" or "ReduceProd" or "ReduceL1" or "ReduceL2"
                or "ReduceLogSum" or "ReduceLogSumExp" or "ReduceSumSquare" => Reduce(node, inputs, opset),
            "ArgMax" or "ArgMin" => ArgReduce(node, inputs[0]),
            "MatMul" => MatMul(inputs[0], inputs[1]),
            "Gemm" => Gemm(node, inputs[0], inputs[1]),
            "Conv" => Conv(node, inputs[0], inputs[1]),
            "ConvTranspose" => ConvTranspose(node, inputs[0], inputs[1]),
            "MaxPool" or "AveragePool" or "LpPool" => Pool(node, inputs[0]),
            "GlobalAveragePool" or "GlobalMaxPool" or "GlobalLpPool" => GlobalPool(inputs[0]),
            "Resize" or "Upsample" => Resize(node, inputs, opset),
            "QuantizeLinear" when !node.Attributes.ContainsKey("output_dtype") =>
                [new ValueFacts(inputs.Optional(2)?.Type ?? ElementType.UInt8, inputs[0].Shape)],
            "DequantizeLinear" when !node.Attributes.ContainsKey("output_dtype") => [new ValueFacts(inputs[1].Type, inputs[0].Shape)],
            _ => null,
        };
    }

    /// <summary>Same type and shape as the input; integer values are not carried through (the op changes them).</summary>
    private static ValueFacts[] Like(ValueFacts x) => [x with { Ints = null }];

    private static ValueFacts[]? Dropout(Node node, ValueFacts x) => node.Outputs.Count switch
    {
        1 => [x with { Ints = null }],
        2 => [x with { Ints = null }, new ValueFacts(ElementType.Bool, x.Shape)],
        _ => null,
    };

    /// <summary>Numpy-style (multidirectional) broadcasting of any number of shapes; null when two dimensions conflict.</summary>
    internal static long[]? BroadcastShapes(IEnumerable<long[]> shapes)
    {
        long[] result = [];
        foreach (var shape in shapes)
        {
            var rank = Math.Max(result.Length, shape.Length);
            var merged = new long[rank];
            for (var i = 0; i < rank; i++)
            {
                var a = i - (rank - result.Length) is var ai && ai >= 0 ? result[ai] : 1;
                var b = i - (rank - shape.Length) is var bi && bi >= 0 ? shape[bi] : 1;
                if (a != b && a != 1 && b != 1)
                {
                    return null;
                }
                merged[i] = a == 1 ? b : a;
            }
            result = merged;
        }
        return result;
    }

    private static ValueFacts[]? Broadcast(NodeFacts inputs, ElementType type)
    {
        var shapes = new List<long[]>();
        for (var i = 0; i < inputs.Count; i++)
        {
            if (inputs.Optional(i) is { } f)
            {
                shapes.Add(f.Shape);
            }
        }
        return BroadcastShapes(shapes) is { } shape ? [new ValueFacts(type, shape)] : null;
    }

    /// <summary>Add, Sub, Mul, Div: broadcast; integer shape arithmetic (Shape → Mul → Reshape) keeps its values.</summary>
    private static ValueFacts[]? Arithmetic(string op, NodeFacts inputs)
    {
        if (Broadcast(inputs, inputs[0].Type) is not [var result])
        {
            return null;
        }
        if (inputs.Ints(0) is { } a && inputs.Ints(1) is { } b && (a.Length == b.Length || a.Length == 1 || b.Length == 1)
            && Shapes.ElementCount(result.Shape) == Math.Max(a.Length, b.Length))
        {
            var n = Math.Max(a.Length, b.Length);
            var values = new long[n];
            for (var i = 0; i < n; i++)
            {
                var x = a[a.Length == 1 ? 0 : i];
                var y = b[b.Length == 1 ? 0 : i];
                long? v = op switch
                {
                    "Add" => x + y,
                    "Sub" => x - y,
                    "Mul" => x * y,
                    // Integer division of non-negative sizes; other signs are left unknown rather than guessing the rounding.
                    "Div" when x >= 0 && y > 0 => x / y,
                    _ => null,
                };
                if (v is null)
                {
                    return [result];
                }
                values[i] = v.Value;
            }
            return [result with { Ints = values }];
        }
        return [result];
    }

    private static ValueFacts[]? Cast(ValueFacts x, ElementType to) =>
        to == ElementType.Undefined ? null : [new ValueFacts(to, x.Shape, ValueFacts.IsInteger(to) ? x.Ints : null)];

    private static ValueFacts[] Shape(Node node, ValueFacts x, long opset)
    {
        var rank = x.Rank;
        long start = 0, end = rank;
        if (opset >= 15)
        {
            start = ClampAxis(node.GetInt("start", 0), rank);
            end = node.Attributes.ContainsKey("end") ? ClampAxis(node.GetInt("end", rank), rank) : rank;
        }
        var dims = x.Shape.Skip((int)start).Take((int)Math.Max(0, end - start)).ToArray();
        return [new ValueFacts(ElementType.Int64, [dims.Length], dims)];
    }

    /// <summary>Shape's start and end: negative counts from the back, then clamped to [0, rank].</summary>
    private static long ClampAxis(long axis, int rank) => Math.Clamp(axis < 0 ? axis + rank : axis, 0, rank);

    private static ValueFacts[]? Constant(Node node)
    {
        if (node.Attributes.TryGetValue("value", out var value) && value.Kind == AttributeKind.Tensor)
        {
            return [ValueFacts.Of(value.AsTensor())];
        }
        if (node.Attributes.TryGetValue("value_int", out var i))
        {
            return [new ValueFacts(ElementType.Int64, [], [i.AsInt()])];
        }
        if (node.Attributes.TryGetValue("value_ints", out var ints))
        {
            var v = ints.AsInts();
            return [new ValueFacts(ElementType.Int64, [v.Length], v.Length <= ValueFacts.MaxTrackedInts ? v : null)];
        }
        if (node.Attributes.ContainsKey("value_float"))
        {
            return [new ValueFacts(ElementType.Float, [])];
        }
        if (node.Attributes.TryGetValue("value_floats", out var floats))
        {
            return [new ValueFacts(ElementType.Float, [floats.AsFloats().Length])];
        }
        return null;
    }

    private static ValueFacts[]? ConstantOfShape(Node node, NodeFacts inputs)
    {
        if (inputs.Ints(0) is not { } shape || shape.Any(d => d < 0))
        {
            return null;
        }
        var type = node.Attributes.TryGetValue("value", out var v) ? v.AsTensor().ElementType : ElementType.Float;
        long[]? ints = null;
        if (ValueFacts.IsInteger(type) && Shapes.ElementCount(shape) <= ValueFacts.MaxTrackedInts)
        {
            var fill = v?.AsTensor().ToInt64Array() is [var f] ? f : 0;
            ints = Enumerable.Repeat(fill, (int)Shapes.ElementCount(shape)).ToArray();
        }
        return [new ValueFacts(type, shape, ints)];
    }

    /// <summary>Reshape with its target from a known integer tensor: 0 copies the input's dimension (unless allowzero), −1 takes the rest.</summary>
    private static ValueFacts[]? Reshape(Node node, NodeFacts inputs)
    {
        var x = inputs[0];
        if (inputs.Ints(1) is not { } target)
        {
            return null;
        }
        var allowZero = node.GetInt("allowzero", 0) != 0;
        var shape = new long[target.Length];
        var inferred = -1;
        long known = 1;
        for (var i = 0; i < target.Length; i++)
        {
            var d = target[i];
            if (d == 0 && !allowZero)
            {
                if (i >= x.Rank)
                {
                    return null;
                }
                d = x.Shape[i];
            }
            if (d == -1)
            {
                if (inferred >= 0)
                {
                    return null;
                }
                inferred = i;
                continue;
            }
            if (d < 0)
            {
                return null;
            }
            shape[i] = d;
            known = checked(known * d);
        }
        var count = Shapes.ElementCount(x.Shape);
        if (inferred >= 0)
        {
            if (known == 0 || count % known != 0)
            {
                return null;
            }
            shape[inferred] = count / known;
        }
        else if (known != count)
        {
            return null;
        }
        return [new ValueFacts(x.Type, shape, x.Ints)];
    }

    private static ValueFacts[]? Flatten(Node node, ValueFacts x)
    {
        var axis = node.GetInt("axis", 1);
        axis = axis < 0 ? axis + x.Rank : axis;
        if (axis < 0 || axis > x.Rank)
        {
            return null;
        }
        var outer = Shapes.ElementCount(x.Shape[..(int)axis]);
        var inner = Shapes.ElementCount(x.Shape[(int)axis..]);
        return [new ValueFacts(x.Type, [outer, inner], x.Ints)];
    }

    /// <summary>Axes from the attribute (before <paramref name="inputFrom"/>) or from input 1 (from it on); null when the input's values are unknown.</summary>
    private static bool TryAxes(Node node, NodeFacts inputs, long opset, long inputFrom, out long[]? axes)
    {
        if (opset < inputFrom)
        {
            axes = node.GetInts("axes");
            return true;
        }
        if (inputs.Optional(1) is not { } given)
        {
            axes = null;
            return true;
        }
        axes = given.Ints;
        return axes is not null;
    }

    private static long[]? NormalizeAxes(long[] axes, int rank)
    {
        var result = new long[axes.Length];
        for (var i = 0; i < axes.Length; i++)
        {
            var a = axes[i] < 0 ? axes[i] + rank : axes[i];
            if (a < 0 || a >= rank || result.Take(i).Contains(a))
            {
                return null;
            }
            result[i] = a;
        }
        return result;
    }

    private static ValueFacts[]? Squeeze(Node node, NodeFacts inputs, long opset)
    {
        var x = inputs[0];
        if (!TryAxes(node, inputs, opset, 13, out var given))
        {
            return null;
        }
        long[] axes;
        if (given is null)
        {
            axes = Enumerable.Range(0, x.Rank).Where(i => x.Shape[i] == 1).Select(i => (long)i).ToArray();
        }
        else if (NormalizeAxes(given, x.Rank) is { } normalized && normalized.All(a => x.Shape[a] == 1))
        {
            axes = normalized;
        }
        else
        {
            return null;
        }
        var shape = x.Shape.Where((_, i) => !axes.Contains(i)).ToArray();
        return [new ValueFacts(x.Type, shape, x.Ints)];
    }

    private static ValueFacts[]? Unsqueeze(Node node, NodeFacts inputs, long opset)
    {
        var x = inputs[0];
        if (!TryAxes(node, inputs, opset, 13, out var given) || given is null)
        {
            return null;
        }
        var rank = x.Rank + given.Length;
        if (NormalizeAxes(given, rank) is not { } axes)
        {
            return null;
        }
        var shape = new long[rank];
        var next = 0;
        for (var i = 0; i < rank; i++)
        {
            shape[i] = axes.Contains(i) ? 1 : x.Shape[next++];
        }
        return [new ValueFacts(x.Type, shape, x.Ints)];
    }

    private static ValueFacts[]? Transpose(Node node, ValueFacts x)
    {
        var perm = node.GetInts("perm") ?? Enumerable.Range(0, x.Rank).Reverse().Select(i => (long)i).ToArray();
        if (perm.Length != x.Rank || NormalizeAxes(perm, x.Rank) is null)
        {
            return null;
        }
        return [new ValueFacts(x.Type, perm.Select(p => x.Shape[p]).ToArray())];
    }

    private static ValueFacts[]? Concat(Node node, NodeFacts inputs)
    {
        var parts = Enumerable.Range(0, inputs.Count).Select(inputs.Optional).Where(f => f is not null).Select(f => f!.Value).ToList();
        if (parts.Count == 0)
        {
            return null;
        }
        var rank = parts[0].Rank;
        var axis = node.GetInt("axis", 0);
        axis = axis < 0 ? axis + rank : axis;
        if (axis < 0 || axis >= rank || parts.Any(p => p.Rank != rank))
        {
            return null;
        }
        var shape = parts[0].Shape.ToArray();
        shape[axis] = 0;
        foreach (var p in parts)
        {
            for (var i = 0; i < rank; i++)
            {
                if (i != axis && p.Shape[i] != shape[i])
                {
                    return null;
                }
            }
            shape[axis] += p.Shape[axis];
        }
        var ints = rank == 1 && parts.All(p => p.Ints is not null) ? parts.SelectMany(p => p.Ints!).ToArray() : null;
        return [new ValueFacts(parts[0].Type, shape, ints is { Length: <= ValueFacts.MaxTrackedInts } ? ints : null)];
    }

    private static ValueFacts[]? Split(Node node, NodeFacts inputs, long opset)
    {
        var x = inputs[0];
        var axis = node.GetInt("axis", 0);
        axis = axis < 0 ? axis + x.Rank : axis;
        if (axis < 0 || axis >= x.Rank)
        {
            return null;
        }
        var count = node.Outputs.Count;
        long[]? sizes;
        if (opset >= 13 && inputs.Optional(1) is { } given)
        {
            sizes = given.Ints;
        }
        else if (opset < 13 && node.GetInts("split") is { } attribute)
        {
            sizes = attribute;
        }
        else
        {
            sizes = EqualParts(x.Shape[axis], count);
        }
        if (sizes is null || sizes.Length != count || sizes.Sum() != x.Shape[axis] || sizes.Any(s => s < 0))
        {
            return null;
        }
        return sizes.Select(s =>
        {
            var shape = x.Shape.ToArray();
            shape[axis] = s;
            return new ValueFacts(x.Type, shape);
        }).ToArray();
    }

    /// <summary>An even split; null when the size does not divide (opset 18's uneven last part is left to ONNX Runtime).</summary>
    private static long[]? EqualParts(long size, int count) =>
        count > 0 && size % count == 0 ? Enumerable.Repeat(size / count, count).ToArray() : null;

    private static ValueFacts[]? Slice(Node node, NodeFacts inputs, long opset)
    {
        var x = inputs[0];
        long[]? starts, ends, axes, steps;
        if (opset < 10)
        {
            starts = node.GetInts("starts");
            ends = node.GetInts("ends");
            axes = node.GetInts("axes");
            steps = null;
        }
        else
        {
            starts = inputs.Ints(1);
            ends = inputs.Ints(2);
            axes = inputs.Ints(3);
            steps = inputs.Ints(4);
            if ((axes is null && inputs.Optional(3) is not null) || (steps is null && inputs.Optional(4) is not null))
            {
                return null;
            }
        }
        if (starts is null || ends is null || starts.Length != ends.Length)
        {
            return null;
        }
        axes ??= Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        steps ??= Enumerable.Repeat(1L, starts.Length).ToArray();
        if (axes.Length != starts.Length || steps.Length != starts.Length || NormalizeAxes(axes, x.Rank) is not { } normalized)
        {
            return null;
        }
        var shape = x.Shape.ToArray();
        var ranges = new (long Start, long Step, long Count)[x.Rank];
        for (var i = 0; i < x.Rank; i++)
        {
            ranges[i] = (0, 1, x.Shape[i]);
        }
        for (var i = 0; i < normalized.Length; i++)
        {
            var a = (int)normalized[i];
            var dim = x.Shape[a];
            var step = steps[i];
            if (step == 0)
            {
                return null;
            }
            var start = starts[i] < 0 ? starts[i] + dim : starts[i];
            var end = ends[i] < 0 ? ends[i] + dim : ends[i];
            // The clamping of the ONNX specification: [0, dim] going forward, [-1, dim - 1] going backward.
            if (step > 0)
            {
                start = Math.Clamp(start, 0, dim);
                end = Math.Clamp(end, 0, dim);
            }
            else
            {
                start = Math.Clamp(start, 0, Math.Max(dim - 1, 0));
                end = Math.Clamp(end, -1, dim - 1);
            }
            var span = end - start;
            var count = span == 0 || Math.Sign(span) != Math.Sign(step) ? 0 : ((Math.Abs(span) - 1) / Math.Abs(step)) + 1;
            shape[a] = count;
            ranges[a] = (start, step, count);
        }
        long[]? ints = null;
        if (x.Rank == 1 && x.Ints is { } values)
        {
            var (start, step, count) = ranges[0];
            ints = Enumerable.Range(0, (int)count).Select(k => values[start + (k * step)]).ToArray();
        }
        return [new ValueFacts(x.Type, shape, ints)];
    }

    private static ValueFacts[]? Gather(Node node, NodeFacts inputs)
    {
        var data = inputs[0];
        var indices = inputs[1];
        var axis = node.GetInt("axis", 0);
        axis = axis < 0 ? axis + data.Rank : axis;
        if (axis < 0 || axis >= data.Rank)
        {
            return null;
        }
        var shape = data.Shape[..(int)axis].Concat(indices.Shape).Concat(data.Shape[((int)axis + 1)..]).ToArray();
        long[]? ints = null;
        if (data.Rank == 1 && data.Ints is { } values && indices.Ints is { } idx)
        {
            ints = new long[idx.Length];
            for (var i = 0; i < idx.Length; i++)
            {
                var k = idx[i] < 0 ? idx[i] + values.Length : idx[i];
                if (k < 0 || k >= values.Length)
                {
                    return null;
                }
                ints[i] = values[k];
            }
        }
        return [new ValueFacts(data.Type, shape, ints)];
    }

    private static ValueFacts[]? Expand(NodeFacts inputs)
    {
        var x = inputs[0];
        if (inputs.Ints(1) is not { } target || BroadcastShapes([x.Shape, target]) is not { } shape)
        {
            return null;
        }
        return [new ValueFacts(x.Type, shape)];
    }

    private static ValueFacts[]? Tile(NodeFacts inputs)
    {
        var x = inputs[0];
        if (inputs.Ints(1) is not { } repeats || repeats.Length != x.Rank || repeats.Any(r => r < 0))
        {
            return null;
        }
        return [new ValueFacts(x.Type, x.Shape.Select((d, i) => d * repeats[i]).ToArray())];
    }

    private static ValueFacts[]? Pad(Node node, NodeFacts inputs, long opset)
    {
        var x = inputs[0];
        var pads = opset < 11 ? node.GetInts("pads") : inputs.Ints(1);
        if (pads is null)
        {
            return null;
        }
        long[] axes;
        if (opset >= 18 && inputs.Optional(3) is not null)
        {
            if (inputs.Ints(3) is not { } given || NormalizeAxes(given, x.Rank) is not { } normalized)
            {
                return null;
            }
            axes = normalized;
        }
        else
        {
            axes = Enumerable.Range(0, x.Rank).Select(i => (long)i).ToArray();
        }
        if (pads.Length != 2 * axes.Length)
        {
            return null;
        }
        var shape = x.Shape.ToArray();
        for (var i = 0; i < axes.Length; i++)
        {
            shape[axes[i]] += pads[i] + pads[i + axes.Length];
            if (shape[axes[i]] < 0)
            {
                return null;
            }
        }
        return [new ValueFacts(x.Type, shape)];
    }

    private static ValueFacts[]? Reduce(Node node, NodeFacts inputs, long opset)
    {
        var x = inputs[0];
        // ReduceSum took its axes as an input from opset 13, the other reductions from opset 18.
        var axesAsInput = node.OpType == "ReduceSum" ? 13 : 18;
        if (!TryAxes(node, inputs, opset, axesAsInput, out var given))
        {
            return null;
        }
        var keepDims = node.GetInt("keepdims", 1) != 0;
        long[] axes;
        if (given is null or { Length: 0 })
        {
            if (opset >= axesAsInput && node.GetInt("noop_with_empty_axes", 0) != 0)
            {
                return [x with { Ints = null }];
            }
            axes = Enumerable.Range(0, x.Rank).Select(i => (long)i).ToArray();
        }
        else if (NormalizeAxes(given, x.Rank) is { } normalized)
        {
            axes = normalized;
        }
        else
        {
            return null;
        }
        var shape = keepDims
            ? x.Shape.Select((d, i) => axes.Contains(i) ? 1 : d).ToArray()
            : x.Shape.Where((_, i) => !axes.Contains(i)).ToArray();
        return [new ValueFacts(x.Type, shape)];
    }

    private static ValueFacts[]? ArgReduce(Node node, ValueFacts x)
    {
        var axis = node.GetInt("axis", 0);
        axis = axis < 0 ? axis + x.Rank : axis;
        if (axis < 0 || axis >= x.Rank)
        {
            return null;
        }
        var shape = node.GetInt("keepdims", 1) != 0
            ? x.Shape.Select((d, i) => i == axis ? 1 : d).ToArray()
            : x.Shape.Where((_, i) => i != axis).ToArray();
        return [new ValueFacts(ElementType.Int64, shape)];
    }
}
