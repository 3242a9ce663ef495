namespace SharpQuant.Autodiff;

internal sealed partial class BackwardRules
{
    /// <summary>Ties split the gradient evenly between the operands, as PyTorch's min/max backward does.</summary>
    private void MinMax(Node node, bool[] needs, Value?[] grads, Value dy)
    {
        if (node.Inputs.Count != 2)
        {
            throw new UnsupportedOpException(node.OpType, Graph.DisplayName(node), "cannot build the gradient graph: only the two-input form has a backward rule");
        }
        var a = node.Input(0);
        var b = node.Input(1);
        var wins = _emit.Cast(_emit.Bool(node.OpType == "Max" ? "Greater" : "Less", a, b), ElementType.Float);
        var ties = _emit.Mul(_emit.Cast(_emit.Bool("Equal", a, b), ElementType.Float), _emit.Scalar(0.5f));
        var shareA = _emit.Add(wins, ties);
        if (needs[0])
        {
            grads[0] = ReduceTo(_emit.Mul(dy, shareA), node.Output, a);
        }
        if (needs[1])
        {
            grads[1] = ReduceTo(_emit.Mul(dy, _emit.Sub(_emit.Scalar(1f), shareA)), node.Output, b);
        }
    }

    private void PRelu(Node node, bool[] needs, Value?[] grads, Value dy)
    {
        var x = node.Input(0);
        var slope = node.Input(1);
        var positive = _emit.Bool("Greater", x, _emit.Scalar(0f));
        var zero = _emit.Scalar(0f);
        if (needs[0])
        {
            grads[0] = _emit.Where(positive, dy, _emit.Mul(dy, slope));
        }
        if (needs[1])
        {
            grads[1] = ReduceTo(_emit.Where(positive, zero, _emit.Mul(dy, x)), node.Output, slope);
        }
    }

    /// <summary>Gradient passes where min ≤ x ≤ max (bounds included, as torch.clamp's backward).</summary>
    private Value Clip(Node node, Value dy)
    {
        var x = node.Input(0);
        Value? inside = null;
        if (node.InputOrNull(1) is { } min)
        {
            inside = _emit.Bool("GreaterOrEqual", x, min);
        }
        if (node.InputOrNull(2) is { } max)
        {
            var below = _emit.Bool("LessOrEqual", x, max);
            inside = inside is null ? below : _emit.OpTyped("And", ElementType.Bool, [inside, below]);
        }
        return inside is null ? dy : _emit.Where(inside, dy, _emit.Scalar(0f));
    }

    /// <summary>y = max(0, min(1, αx + β)): slope α strictly inside (0, 1).</summary>
    private Value HardSigmoid(Node node, Value dy)
    {
        var alpha = node.GetFloat("alpha", 0.2f);
        var beta = node.GetFloat("beta", 0.5f);
        var t = _emit.Add(_emit.Mul(node.Input(0), _emit.Scalar(alpha)), _emit.Scalar(beta));
        var inside = _emit.OpTyped("And", ElementType.Bool, [_emit.Bool("Greater", t, _emit.Scalar(0f)), _emit.Bool("Less", t, _emit.Scalar(1f))]);
        return _emit.Where(inside, _emit.Mul(dy, _emit.Scalar(alpha)), _emit.Scalar(0f));
    }

    /// <summary>y = x · HardSigmoid(x; 1/6, 1/2): 0 below −3, x/3 + 1/2 in [−3, 3], 1 above (PyTorch's hardswish_backward).</summary>
    private Value HardSwish(Node node, Value dy)
    {
        var x = node.Input(0);
        var middle = _emit.Add(_emit.Div(x, _emit.Scalar(3f)), _emit.Scalar(0.5f));
        var slope = _emit.Where(_emit.Bool("Less", x, _emit.Scalar(-3f)), _emit.Scalar(0f),
            _emit.Where(_emit.Bool("LessOrEqual", x, _emit.Scalar(3f)), middle, _emit.Scalar(1f)));
        return _emit.Mul(dy, slope);
    }

    /// <summary>dx = y ⊙ (dy − Σ_axis dy ⊙ y) (opset 13 Softmax works along one axis).</summary>
    private Value Softmax(Node node, Value dy)
    {
        var axis = node.GetInt("axis", -1);
        var y = node.Output;
        var dot = _emit.ReduceSum(_emit.Mul(dy, y), [axis], keepDims: true);
        return _emit.Mul(y, _emit.Sub(dy, dot));
    }

    private Value Transpose(Node node, Value dy)
    {
        var rank = RankOf(node.Input(0));
        var perm = node.GetInts("perm") ?? Enumerable.Range(0, rank).Reverse().Select(i => (long)i).ToArray();
        var inverse = new long[perm.Length];
        for (var i = 0; i < perm.Length; i++)
        {
            inverse[perm[i]] = i;
        }
        return _emit.Transpose(dy, inverse);
    }

    /// <summary>ReduceSum / ReduceMean: the gradient is broadcast back over the reduced axes (divided by their size for the mean).</summary>
    private Value Reduce(Node node, Value dy)
    {
        var x = node.Input(0);
        var rank = RankOf(x);
        var keepDims = node.GetInt("keepdims", 1) != 0;
        var axes = ConstantInts(node, 1, "axes");
        if (axes is { Length: 0 } && node.GetInt("noop_with_empty_axes", 0) != 0)
        {
            return dy;
        }
        var expanded = dy;
        if (!keepDims && axes is { Length: > 0 })
        {
            expanded = _emit.Op("Unsqueeze", [dy, _emit.Ints(Normalize(axes, rank).Order().ToArray())]);
        }
        var grad = _emit.Op("Expand", [expanded, _emit.Shape(x)]);
        if (node.OpType == "ReduceMean")
        {
            grad = _emit.Mul(grad, _emit.Div(_emit.SizeAsFloat(node.Output), _emit.SizeAsFloat(x)));
        }
        return grad;
    }

    private void Concat(Node node, bool[] needs, Value?[] grads, Value dy)
    {
        var rank = RankOf(node.Output);
        var axis = node.GetInt("axis", 0);
        axis = axis < 0 ? axis + rank : axis;
        var sizes = node.Inputs.Select(i => StaticDim(i!, (int)axis, node)).ToArray();
        var parts = _emit.OpMulti("Split", sizes.Length, [dy, _emit.Ints(sizes)], ("axis", axis));
        for (var i = 0; i < parts.Length; i++)
        {
            grads[i] = needs[i] ? parts[i] : null;
        }
    }

    private Value Split(Node node, Value?[] dOut)
    {
        var axis = node.GetInt("axis", 0);
        var parts = new Value[node.Outputs.Count];
        for (var i = 0; i < parts.Length; i++)
        {
            parts[i] = dOut[i] ?? _emit.Filled(node.Outputs[i], 0f);
        }
        return _emit.Op("Concat", parts, ("axis", axis));
    }

    /// <summary>Slice with unit steps: the gradient is dy padded back to the input's extent along the sliced axes.</summary>
    private Value Slice(Node node, Value dy)
    {
        if (node.InputOrNull(1) is { IsConstant: false } || node.InputOrNull(2) is { IsConstant: false })
        {
            return SliceWithComputedBounds(node, dy);
        }
        var x = node.Input(0);
        var rank = RankOf(x);
        var starts = ConstantInts(node, 1, "starts")!;
        var ends = ConstantInts(node, 2, "ends")!;
        var axes = ConstantInts(node, 3, "axes") ?? Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        var steps = ConstantInts(node, 4, "steps") ?? Enumerable.Repeat(1L, starts.Length).ToArray();
        if (steps.Any(s => s != 1))
        {
            throw new UnsupportedOpException("Slice", Graph.DisplayName(node), "cannot build the gradient graph: only unit steps have a backward rule");
        }
        var pads = new long[2 * rank];
        for (var i = 0; i < axes.Length; i++)
        {
            var axis = (int)(axes[i] < 0 ? axes[i] + rank : axes[i]);
            var dim = StaticDim(x, axis, node);
            var start = Math.Clamp(starts[i] < 0 ? starts[i] + dim : starts[i], 0, dim);
            var end = Math.Clamp(ends[i] < 0 ? ends[i] + dim : ends[i], 0, dim);
            end = Math.Max(end, start);
            pads[axis] = start;
            pads[axis + rank] = dim - end;
        }
        return _emit.Op("Pad", [dy, _emit.Ints(pads)], ("mode", "constant"));
    }

    /// <summary>
    /// Slice whose starts or ends are computed in the graph (shape arithmetic that stays dynamic): the same Pad, with
    /// its pads computed in the graph too. With unit steps the slice begins at start' = clamp(start (+ dim if
    /// negative), 0, dim) and is as long as dy, so the pads are start' before and dim − start' − len(dy) after,
    /// whatever the ends say; ScatterElements puts them at the sliced axes of a zero pads vector.
    /// </summary>
    private Value SliceWithComputedBounds(Node node, Value dy)
    {
        var x = node.Input(0);
        var rank = RankOf(x);
        var startsValue = node.Input(1);
        long[] axes;
        if (node.InputOrNull(3) is { } axesValue)
        {
            axes = axesValue.ConstantValue?.ToInt64Array()
                ?? throw new UnsupportedOpException("Slice", Graph.DisplayName(node), "cannot build the gradient graph: its axes are computed");
        }
        else if (startsValue.Shape is [{ Size: { } count }])
        {
            axes = Enumerable.Range(0, (int)count).Select(i => (long)i).ToArray();
        }
        else
        {
            throw new UnsupportedOpException("Slice", Graph.DisplayName(node), "cannot build the gradient graph: its starts are computed and neither their length nor the axes are known");
        }
        if (node.InputOrNull(4) is { } stepsValue && (stepsValue.ConstantValue?.ToInt64Array() is not { } steps || steps.Any(s => s != 1)))
        {
            throw new UnsupportedOpException("Slice", Graph.DisplayName(node), "cannot build the gradient graph: only unit steps have a backward rule");
        }
        axes = Normalize(axes, rank);
        var starts = startsValue.ElementType == ElementType.Int64 ? startsValue : _emit.Cast(startsValue, ElementType.Int64);
        Value Int(string op, params Value[] inputs) => _emit.OpTyped(op, ElementType.Int64, inputs);
        var dims = _emit.OpTyped("Gather", ElementType.Int64, [_emit.Shape(x), _emit.Ints(axes)], ("axis", 0L));
        var lengths = _emit.OpTyped("Gather", ElementType.Int64, [_emit.Shape(dy), _emit.Ints(axes)], ("axis", 0L));
        var zero = _emit.Ints(0);
        var wrapped = Int("Where", _emit.Bool("Less", starts, zero), Int("Add", starts, dims), starts);
        var begin = Int("Min", Int("Max", wrapped, zero), dims);
        var end = Int("Sub", Int("Sub", dims, begin), lengths);
        var positions = axes.Concat(axes.Select(a => a + rank)).ToArray();
        var pads = _emit.OpTyped("ScatterElements", ElementType.Int64,
            [_emit.Ints(new long[2 * rank]), _emit.Ints(positions), _emit.OpTyped("Concat", ElementType.Int64, [begin, end], ("axis", 0L))], ("axis", 0L));
        return _emit.Op("Pad", [dy, pads], ("mode", "constant"));
    }

    /// <summary>Constant-mode Pad with non-negative pads: the gradient is the unpadded window of dy.</summary>
    private Value Pad(Node node, Value dy)
    {
        var x = node.Input(0);
        var rank = RankOf(x);
        var mode = node.GetString("mode", "constant");
        var pads = ConstantInts(node, 1, "pads")!;
        if (mode != "constant" || pads.Any(p => p < 0) || node.InputOrNull(3) is not null)
        {
            throw new UnsupportedOpException("Pad", Graph.DisplayName(node), "cannot build the gradient graph: only constant padding by non-negative amounts over all axes has a backward rule");
        }
        var starts = pads.Take(rank).ToArray();
        var ends = pads.Skip(rank).Select(p => p == 0 ? long.MaxValue : -p).ToArray();
        var axes = Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
        return _emit.Op("Slice", [dy, _emit.Ints(starts), _emit.Ints(ends), _emit.Ints(axes)]);
    }
}
