namespace SharpQuant.Autodiff;

/// <summary>
/// The backward rule of every supported op, written as standard ONNX ops appended to the gradient graph.
/// <see cref="Differentiate"/> receives the gradient of each output (null when nothing downstream depends on it)
/// and returns the gradient of each input the caller needs (null elsewhere). Rules read forward values directly:
/// the forward and backward passes are one graph. Shapes recorded by shape inference decide which axes a
/// broadcast gradient is summed over and the static sizes that Conv, pooling and Concat need.
/// </summary>
internal sealed partial class BackwardRules(GraphEmitter emit)
{
    private readonly GraphEmitter _emit = emit;

    /// <summary>Ops whose outputs carry no gradient: integer or boolean results, or piecewise-constant functions (derivative zero almost everywhere).</summary>
    public static bool IsNonDifferentiable(Node node) => node.OpType is
        "Shape" or "Size" or "ArgMax" or "ArgMin" or "Equal" or "Greater" or "GreaterOrEqual" or "Less" or "LessOrEqual"
        or "Not" or "And" or "Or" or "Xor" or "Floor" or "Ceil" or "Round" or "Sign" or "NonZero" or "ConstantOfShape"
        or "Range" or "EyeLike" or "RandomNormal" or "RandomUniform" or "RandomNormalLike" or "RandomUniformLike"
        or "Constant" or "IsNaN" or "IsInf" or "OneHot";

    /// <returns>One entry per node input: the gradient, or null when not needed or not differentiable there.</returns>
    public Value?[] Differentiate(Node node, Value?[] dOut, bool[] needs)
    {
        var dy = dOut[0];
        var grads = new Value?[node.Inputs.Count];
        switch (node.OpType)
        {
            case "Identity" or "Dropout":
                grads[0] = dy;
                break;
            case "Cast":
                grads[0] = node.Input(0).ElementType == ElementType.Float ? dy : null;
                break;
            case "Reshape" or "Flatten" or "Squeeze" or "Unsqueeze":
                grads[0] = _emit.ReshapeLike(dy!, node.Input(0));
                break;
            case "Add":
                Broadcast(node, needs, grads, dy!, dy!);
                break;
            case "Sub":
                Broadcast(node, needs, grads, dy!, needs[1] ? _emit.Neg(dy!) : null);
                break;
            case "Mul":
                Broadcast(node, needs, grads,
                    needs[0] ? _emit.Mul(dy!, node.Input(1)) : null,
                    needs[1] ? _emit.Mul(dy!, node.Input(0)) : null);
                break;
            case "Div":
                Broadcast(node, needs, grads,
                    needs[0] ? _emit.Div(dy!, node.Input(1)) : null,
                    needs[1] ? _emit.Neg(_emit.Div(_emit.Mul(dy!, node.Output), node.Input(1))) : null);
                break;
            case "Sum":
                for (var i = 0; i < grads.Length; i++)
                {
                    grads[i] = needs[i] ? ReduceTo(dy!, node.Output, node.Input(i)) : null;
                }
                break;
            case "Expand":
                grads[0] = ReduceTo(dy!, node.Output, node.Input(0));
                break;
            case "Where":
                {
                    var zero = _emit.Scalar(0f);
                    if (needs[1])
                    {
                        grads[1] = ReduceTo(_emit.Where(node.Input(0), dy!, zero), node.Output, node.Input(1));
                    }
                    if (needs[2])
                    {
                        grads[2] = ReduceTo(_emit.Where(node.Input(0), zero, dy!), node.Output, node.Input(2));
                    }
                    break;
                }
            case "Min" or "Max":
                MinMax(node, needs, grads, dy!);
                break;
            case "Neg":
                grads[0] = _emit.Neg(dy!);
                break;
            case "Relu":
                // dy · (y > 0) as Mul with a cast mask: ONNX Runtime's Where (and Sign) over ResNet18's stem alone took
                // 0.4 s at batch 8 (measured with its profiler); Greater, Cast and Mul are vectorized.
                grads[0] = _emit.Mul(dy!, _emit.Cast(_emit.Bool("Greater", node.Output, _emit.Scalar(0f)), ElementType.Float));
                break;
            case "LeakyRelu":
                grads[0] = _emit.Where(_emit.Bool("Greater", node.Input(0), _emit.Scalar(0f)), dy!,
                    _emit.Mul(dy!, _emit.Scalar(node.GetFloat("alpha", 0.01f))));
                break;
            case "PRelu":
                PRelu(node, needs, grads, dy!);
                break;
            case "Clip":
                grads[0] = Clip(node, dy!);
                break;
            case "Sigmoid":
                // σ' = σ (1 − σ)
                grads[0] = _emit.Mul(dy!, _emit.Mul(node.Output, _emit.Sub(_emit.Scalar(1f), node.Output)));
                break;
            case "Tanh":
                grads[0] = _emit.Mul(dy!, _emit.Sub(_emit.Scalar(1f), _emit.Mul(node.Output, node.Output)));
                break;
            case "HardSigmoid":
                grads[0] = HardSigmoid(node, dy!);
                break;
            case "HardSwish":
                grads[0] = HardSwish(node, dy!);
                break;
            case "Exp":
                grads[0] = _emit.Mul(dy!, node.Output);
                break;
            case "Log":
                grads[0] = _emit.Div(dy!, node.Input(0));
                break;
            case "Sqrt":
                grads[0] = _emit.Div(dy!, _emit.Mul(node.Output, _emit.Scalar(2f)));
                break;
            case "Reciprocal":
                grads[0] = _emit.Neg(_emit.Mul(dy!, _emit.Mul(node.Output, node.Output)));
                break;
            case "Abs":
                grads[0] = _emit.Mul(dy!, _emit.Op("Sign", [node.Input(0)]));
                break;
            case "Pow":
                // d(x^p)/dx = p · x^(p−1); the exponent is not differentiated (a constant in the models here).
                grads[0] = ReduceTo(_emit.Mul(dy!, _emit.Mul(node.Input(1), _emit.Op("Pow", [node.Input(0), _emit.Sub(node.Input(1), _emit.Scalar(1f))]))), node.Output, node.Input(0));
                break;
            case "Softmax":
                grads[0] = Softmax(node, dy!);
                break;
            case "LogSoftmax":
                {
                    var axis = node.GetInt("axis", -1);
                    var sum = _emit.ReduceSum(dy!, [axis], keepDims: true);
                    grads[0] = _emit.Sub(dy!, _emit.Mul(_emit.Op("Exp", [node.Output]), sum));
                    break;
                }
            case "Transpose":
                grads[0] = Transpose(node, dy!);
                break;
            case "ReduceSum" or "ReduceMean":
                grads[0] = Reduce(node, dy!);
                break;
            case "GlobalAveragePool":
                grads[0] = _emit.Mul(_emit.Op("Expand", [dy!, _emit.Shape(node.Input(0))]),
                    _emit.Div(_emit.SizeAsFloat(node.Output), _emit.SizeAsFloat(node.Input(0))));
                break;
            case "Concat":
                Concat(node, needs, grads, dy!);
                break;
            case "Split":
                grads[0] = Split(node, dOut);
                break;
            case "Slice":
                grads[0] = Slice(node, dy!);
                break;
            case "Pad":
                grads[0] = Pad(node, dy!);
                break;
            case "MatMul":
                MatMul(node, needs, grads, dy!);
                break;
            case "Gemm":
                Gemm(node, needs, grads, dy!);
                break;
            case "Conv":
                Conv(node, needs, grads, dy!);
                break;
            case "ConvTranspose":
                ConvTranspose(node, needs, grads, dy!);
                break;
            case "MaxPool":
                grads[0] = MaxPool(node, dy!);
                break;
            case "AveragePool":
                grads[0] = AveragePool(node, dy!);
                break;
            case "BatchNormalization":
                BatchNormalization(node, needs, grads, dy!);
                break;
            case "Resize":
                grads[0] = Resize(node, dy!);
                break;
            default:
                throw new UnsupportedOpException(node.OpType, Graph.DisplayName(node), "cannot build the gradient graph: no backward rule");
        }
        for (var i = 0; i < grads.Length; i++)
        {
            if (needs[i] && grads[i] is null)
            {
                throw new UnsupportedOpException(node.OpType, Graph.DisplayName(node),
                    $"cannot build the gradient graph: input {i} ('{node.Input(i).Name}') depends on a differentiated value, but the op has no gradient for it");
            }
            if (!needs[i])
            {
                grads[i] = null;
            }
        }
        return grads;
    }

    private void Broadcast(Node node, bool[] needs, Value?[] grads, Value? da, Value? db)
    {
        if (needs[0])
        {
            grads[0] = ReduceTo(da!, node.Output, node.Input(0));
        }
        if (needs[1])
        {
            grads[1] = ReduceTo(db!, node.Output, node.Input(1));
        }
    }

    /// <summary>
    /// Sums a gradient shaped like <paramref name="broadcastResult"/> back to the shape of an operand that was
    /// broadcast into it (numpy rules): leading axes the operand lacks, and axes where it has size 1.
    /// </summary>
    public Value ReduceTo(Value grad, Value broadcastResult, Value operand)
    {
        var outShape = ShapeOf(broadcastResult);
        var inShape = ShapeOf(operand);
        var lead = outShape.Count - inShape.Count;
        var result = grad;
        if (lead > 0)
        {
            result = _emit.ReduceSum(result, Enumerable.Range(0, lead).Select(i => (long)i).ToArray(), keepDims: false);
        }
        var axes = new List<long>();
        for (var i = 0; i < inShape.Count; i++)
        {
            if (inShape[i].Size == 1 && outShape[lead + i].Size != 1)
            {
                axes.Add(i);
            }
        }
        if (axes.Count > 0)
        {
            result = _emit.ReduceSum(result, axes.ToArray(), keepDims: true);
        }
        return result;
    }

    /// <summary>The recorded shape of a value (constants: their tensor's); the backward rules need at least the rank.</summary>
    public static IReadOnlyList<Dim> ShapeOf(Value value) =>
        value.ConstantValue is { } c ? c.Shape.Select(Dim.Of).ToArray()
        : value.Shape ?? throw new SharpQuantException($"the gradient graph needs the shape of '{value.Name}', which shape inference did not record");

    public static int RankOf(Value value) => ShapeOf(value).Count;

    /// <summary>A dimension that must be known when the graph is built (spatial sizes, channel counts).</summary>
    public static long StaticDim(Value value, int axis, Node node)
    {
        var shape = ShapeOf(value);
        var a = axis < 0 ? axis + shape.Count : axis;
        return shape[a].Size ?? throw new SharpQuantException(
            $"the backward rule of '{Graph.DisplayName(node)}' ({node.OpType}) needs dimension {a} of '{value.Name}' to be fixed, but it is {shape[a]}; give the input shapes in GradientRequest.InputShapes");
    }

    private static long[] Normalize(long[] axes, int rank) => axes.Select(a => a < 0 ? a + rank : a).ToArray();

    /// <summary>Reads int64 values given as a constant input (opset 13 style) or, in older form, an attribute.</summary>
    private static long[]? ConstantInts(Node node, int inputIndex, string attribute)
    {
        if (node.InputOrNull(inputIndex) is { } v)
        {
            return v.ConstantValue?.ToInt64Array()
                ?? throw new SharpQuantException($"the backward rule of '{Graph.DisplayName(node)}' ({node.OpType}) needs input {inputIndex} ('{v.Name}') to be a constant");
        }
        return node.GetInts(attribute);
    }
}
