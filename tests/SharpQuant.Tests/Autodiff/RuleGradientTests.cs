using Xunit.Abstractions;
using static SharpQuant.Tests.Autodiff.A;

namespace SharpQuant.Tests.Autodiff;

/// <summary>
/// Every backward rule against central finite differences of ONNX Runtime forward runs (tolerances in
/// <see cref="GradientCheckOptions"/>). Inputs of piecewise-linear ops are kept away from their kinks by more
/// than the step, where the difference quotient would straddle two pieces.
/// </summary>
public sealed class RuleGradientTests(ITestOutputHelper log)
{
    private void Check(OpGraph g, params string[] wrt) =>
        GradientCheck.AgainstFiniteDifferences(g.Graph, g.Feeds, wrt, log: log);

    public static TheoryData<int, int, int, int, long[], int, bool> ConvCases() => new()
    {
        // stride, dilation, kernel, group, pads [t, l, b, r], in channels, bias
        { 1, 1, 3, 1, [1, 1, 1, 1], 3, true },
        { 2, 1, 3, 1, [1, 1, 1, 1], 3, false },
        { 2, 1, 3, 1, [0, 1, 2, 0], 2, true },
        { 3, 1, 2, 1, [0, 0, 0, 0], 2, true },
        { 1, 2, 3, 1, [2, 1, 0, 2], 2, false },
        { 2, 2, 3, 2, [1, 2, 1, 0], 4, true },
        { 1, 1, 3, 4, [1, 1, 1, 1], 4, true },
        { 2, 1, 3, 3, [1, 0, 1, 1], 3, false },
    };

    [Theory]
    [MemberData(nameof(ConvCases))]
    public void Conv(int stride, int dilation, int kernel, int group, long[] pads, int inChannels, bool bias)
    {
        var g = new OpGraph(seed: stride * 100 + dilation * 10 + group);
        var outChannels = group == inChannels ? inChannels : 2 * group;
        var x = g.Input("x", [2, inChannels, 7, 8]);
        var w = g.Constant("w", [outChannels, inChannels / group, kernel, kernel]);
        var b = bias ? g.Constant("b", [outChannels]) : null;
        g.Output(g.Node("Conv", bias ? [x, w, b] : [x, w], Is("strides", stride, stride), Is("dilations", dilation, dilation),
            Is("pads", pads), I("group", group), Is("kernel_shape", kernel, kernel)));
        Check(g, bias ? ["x", "w", "b"] : ["x", "w"]);
    }

    public static TheoryData<int> RandomGeometrySeeds() => [.. Enumerable.Range(0, 16)];

    /// <summary>
    /// Random conv geometries (the FsCheck-style sweep of the rule): kernel 1–4 per axis (not square), stride 1–3,
    /// dilation 1–2, pads 0 to the effective kernel − 1 on each side independently, group 1, 2 or depthwise, sizes
    /// the stride need not divide. Both Conv and ConvTranspose, with respect to input, weight and bias.
    /// </summary>
    [Theory]
    [MemberData(nameof(RandomGeometrySeeds))]
    public void RandomConvGeometries(int seed)
    {
        var random = new Random(seed);
        var transposed = seed % 2 == 1;
        long[] kernel = [random.Next(1, 5), random.Next(1, 5)];
        long[] stride = [random.Next(1, 4), random.Next(1, 4)];
        long[] dilation = [random.Next(1, 3), random.Next(1, 3)];
        var pads = new long[4];
        for (var i = 0; i < 4; i++)
        {
            pads[i] = random.Next(0, (int)(dilation[i % 2] * (kernel[i % 2] - 1)) + 1);
        }
        var group = random.Next(3) switch { 0 => 1, 1 => 2, _ => 4 };
        var inChannels = group == 4 ? 4 : 2 * group;
        var outChannels = group == 4 ? 4 : 3 * group;
        var g = new OpGraph(seed: 1000 + seed);
        var x = g.Input("x", [2, inChannels, random.Next(5, 9), random.Next(5, 9)]);
        var w = transposed ? g.Constant("w", [inChannels, outChannels / group, kernel[0], kernel[1]]) : g.Constant("w", [outChannels, inChannels / group, kernel[0], kernel[1]]);
        var b = g.Constant("b", [outChannels]);
        var attributes = new List<(string, AttributeValue)>
        {
            Is("kernel_shape", kernel), Is("strides", stride), Is("dilations", dilation), Is("pads", pads), I("group", group),
        };
        if (transposed)
        {
            // ONNX Runtime wants output_padding below the stride on each axis.
            attributes.Add(Is("output_padding", random.Next((int)stride[0]), random.Next((int)stride[1])));
        }
        log.WriteLine($"{(transposed ? "ConvTranspose" : "Conv")} kernel {Shapes.Format(kernel)} stride {Shapes.Format(stride)} dilation {Shapes.Format(dilation)} pads {Shapes.Format(pads)} group {group}");
        g.Output(g.Node(transposed ? "ConvTranspose" : "Conv", [x, w, b], [.. attributes]));
        Check(g, "x", "w", "b");
    }

    public static TheoryData<int, int, int, long[], int> FewInputChannelsStridedCases() => new()
    {
        // stride, dilation, kernel, pads [t, l, b, r], in channels: the input gradient by stride phases (few input
        // channels), with the weight a constant (folded into the phase kernel at build time) and not requested.
        { 2, 1, 7, [3, 3, 3, 3], 3 },
        { 2, 1, 3, [0, 1, 2, 0], 2 },
        { 3, 2, 3, [2, 0, 1, 3], 3 },
        { 2, 1, 2, [0, 0, 0, 0], 1 },
    };

    [Theory]
    [MemberData(nameof(FewInputChannelsStridedCases))]
    public void StridedConvInputGradientWithConstantWeight(int stride, int dilation, int kernel, long[] pads, int inChannels)
    {
        var g = new OpGraph(seed: (stride * 100) + (dilation * 10) + kernel);
        var x = g.Input("x", [2, inChannels, 11, 10]);
        var w = g.Constant("w", [4, inChannels, kernel, kernel]);
        g.Output(g.Node("Conv", [x, w], Is("strides", stride, stride), Is("dilations", dilation, dilation), Is("pads", pads), Is("kernel_shape", kernel, kernel)));
        Check(g, "x");
    }

    public static TheoryData<int> ManyChannelsSeeds() => [.. Enumerable.Range(0, 4)];

    /// <summary>
    /// Random ungrouped conv geometries with 16 input channels, where the weight gradient gathers channel rows
    /// (the sweep above has few channels, where it slices stride phases instead).
    /// </summary>
    [Theory]
    [MemberData(nameof(ManyChannelsSeeds))]
    public void RandomConvGeometriesWithManyChannels(int seed)
    {
        var random = new Random(500 + seed);
        var transposed = seed % 2 == 1;
        long[] kernel = [random.Next(1, 4), random.Next(1, 4)];
        long[] stride = [random.Next(1, 3), random.Next(1, 3)];
        long[] dilation = [random.Next(1, 3), random.Next(1, 3)];
        var pads = new long[4];
        for (var i = 0; i < 4; i++)
        {
            pads[i] = random.Next(0, (int)(dilation[i % 2] * (kernel[i % 2] - 1)) + 1);
        }
        const int inChannels = 16;
        const int outChannels = 16;
        var g = new OpGraph(seed: 2000 + seed);
        var x = g.Input("x", [2, inChannels, random.Next(5, 8), random.Next(5, 8)]);
        var w = g.Constant("w", [transposed ? inChannels : outChannels, transposed ? outChannels : inChannels, kernel[0], kernel[1]]);
        var b = g.Constant("b", [outChannels]);
        var attributes = new List<(string, AttributeValue)> { Is("kernel_shape", kernel), Is("strides", stride), Is("dilations", dilation), Is("pads", pads) };
        if (transposed)
        {
            attributes.Add(Is("output_padding", random.Next((int)stride[0]), random.Next((int)stride[1])));
        }
        log.WriteLine($"{(transposed ? "ConvTranspose" : "Conv")} kernel {Shapes.Format(kernel)} stride {Shapes.Format(stride)} dilation {Shapes.Format(dilation)} pads {Shapes.Format(pads)}");
        g.Output(g.Node(transposed ? "ConvTranspose" : "Conv", [x, w, b], [.. attributes]));
        Check(g, "x", "w", "b");
    }

    public static TheoryData<int, int, int> ManyChannelsFewPositionsCases() => new()
    {
        // stride, group, kernel: more output channels per group than output positions, where the weight gradient
        // contracts batch and positions in one GEMM instead of summing per-sample products.
        { 1, 1, 3 },
        { 2, 1, 3 },
        { 1, 2, 3 },
        { 2, 1, 1 },
    };

    [Theory]
    [MemberData(nameof(ManyChannelsFewPositionsCases))]
    public void ConvWithMoreOutputChannelsThanPositions(int stride, int group, int kernel)
    {
        var g = new OpGraph(seed: 40 + (stride * 10) + group + kernel);
        var pad = kernel / 2;
        var x = g.Input("x", [3, 4, 4, 3]);
        var w = g.Constant("w", [12 * group, 4 / group, kernel, kernel]);
        var b = g.Constant("b", [12 * group]);
        g.Output(g.Node("Conv", [x, w, b], Is("strides", stride, stride), Is("pads", pad, pad, pad, pad), I("group", group), Is("kernel_shape", kernel, kernel)));
        Check(g, "x", "w", "b");
    }

    [Fact]
    public void ConvSamePadding()
    {
        var g = new OpGraph();
        var x = g.Input("x", [1, 2, 5, 6]);
        var w = g.Constant("w", [3, 2, 3, 3]);
        g.Output(g.Node("Conv", [x, w], S("auto_pad", "SAME_UPPER"), Is("strides", 2, 2)));
        Check(g, "x", "w");
    }

    [Theory]
    [InlineData(2, 1, 0, 1)]
    [InlineData(2, 1, 1, 2)]
    [InlineData(1, 0, 0, 1)]
    [InlineData(3, 1, 2, 1)]
    public void ConvTranspose(int stride, int pad, int outputPadding, int group)
    {
        var g = new OpGraph(seed: 3);
        var x = g.Input("x", [2, 2 * group, 4, 5]);
        var w = g.Constant("w", [2 * group, 2, 3, 3]);
        var b = g.Constant("b", [2 * group]);
        g.Output(g.Node("ConvTranspose", [x, w, b], Is("strides", stride, stride), Is("pads", pad, pad, pad, 0), I("group", group),
            Is("output_padding", outputPadding, outputPadding)));
        Check(g, "x", "w", "b");
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(0, 1)]
    [InlineData(1, 0)]
    [InlineData(1, 1)]
    public void Gemm(int transA, int transB)
    {
        var g = new OpGraph(seed: 5 + (2 * transA) + transB);
        var a = g.Input("a", transA == 1 ? [4, 3] : [3, 4]);
        var b = g.Constant("b", transB == 1 ? [5, 4] : [4, 5]);
        var c = g.Constant("c", [5]);
        g.Output(g.Node("Gemm", [a, b, c], I("transA", transA), I("transB", transB), F("alpha", 0.7f), F("beta", 1.3f)));
        Check(g, "a", "b", "c");
    }

    [Fact]
    public void MatMulBroadcastsBatches()
    {
        var g = new OpGraph();
        var a = g.Input("a", [2, 3, 4]);
        var b = g.Constant("b", [4, 5]);
        var c = g.Constant("c", [2, 5, 2]);
        var ab = g.Node("MatMul", [a, b]);
        g.Output(g.Node("MatMul", [ab, c]));
        Check(g, "a", "b", "c");
    }

    [Theory]
    [InlineData("Add")]
    [InlineData("Sub")]
    [InlineData("Mul")]
    [InlineData("Div")]
    public void BroadcastingArithmetic(string op)
    {
        var g = new OpGraph(seed: op.Length);
        var x = g.Input("x", [2, 3, 4, 5], avoid: op == "Div" ? [0f] : null, margin: 0.5f);
        var channel = g.Constant("channel", [3, 1, 1], 0.5f, 1.5f);
        var row = g.Input("row", [5], 0.5f, 1.5f);
        var mixed = g.Constant("mixed", [1, 3, 1, 5], 0.5f, 1.5f);
        var first = g.Node(op, [x, channel]);
        var second = g.Node(op, [row, first]);
        g.Output(g.Node(op, [second, mixed]));
        Check(g, "x", "channel", "row", "mixed");
    }

    [Theory]
    [InlineData("Relu")]
    [InlineData("LeakyRelu")]
    [InlineData("Sigmoid")]
    [InlineData("Tanh")]
    [InlineData("HardSigmoid")]
    [InlineData("HardSwish")]
    [InlineData("Exp")]
    [InlineData("Neg")]
    [InlineData("Identity")]
    public void Activation(string op)
    {
        // HardSwish exists from opset 14.
        var g = new OpGraph(seed: op.Length, opset: op == "HardSwish" ? 14 : 13);
        // Kinks: 0 (Relu, LeakyRelu), ±2.5 (HardSigmoid with α = 0.2, β = 0.5), ±3 (HardSwish).
        var x = g.Input("x", [2, 3, 4, 4], -4f, 4f, avoid: [0f, -2.5f, 2.5f, -3f, 3f]);
        g.Output(g.Node(op, [x]));
        Check(g, "x");
    }

    [Fact]
    public void LogSqrtPowReciprocal()
    {
        var g = new OpGraph();
        var x = g.Input("x", [2, 3, 4], 0.5f, 2f);
        var log = g.Node("Log", [x]);
        var sqrt = g.Node("Sqrt", [x]);
        var pow = g.Node("Pow", [x, g.Constant("p", Tensor.Scalar(3f))]);
        var rec = g.Node("Reciprocal", [x]);
        g.Output(g.Node("Sum", [log, sqrt, pow, rec]));
        Check(g, "x");
    }

    [Fact]
    public void PRelu()
    {
        var g = new OpGraph();
        var x = g.Input("x", [2, 3, 4, 4], avoid: [0f]);
        var slope = g.Constant("slope", [3, 1, 1], 0.1f, 0.5f);
        g.Output(g.Node("PRelu", [x, slope]));
        Check(g, "x", "slope");
    }

    [Fact]
    public void Clip()
    {
        var g = new OpGraph();
        var x = g.Input("x", [2, 3, 4, 4], avoid: [-1f, 1.5f]);
        g.Output(g.Node("Clip", [x, g.Constant("lo", Tensor.Create(new[] { -1f })), g.Constant("hi", Tensor.Create(new[] { 1.5f }))]));
        Check(g, "x");
    }

    [Theory]
    [InlineData("Min")]
    [InlineData("Max")]
    public void MinMax(string op)
    {
        var g = new OpGraph();
        var a = g.Input("a", [2, 3, 4]);
        var b = g.Input("b", [3, 1]);
        g.Output(g.Node(op, [a, b]));
        // Coordinates where a and b are within the step of each other are kinks; the draw has none (checked by the test passing deterministically).
        Check(g, "a", "b");
    }

    [Theory]
    [InlineData(3, 2, 1, 0)]
    [InlineData(2, 2, 0, 0)]
    [InlineData(3, 1, 1, 1)]
    public void MaxPool(int kernel, int stride, int pad, int ceil)
    {
        var g = new OpGraph();
        var x = g.SpacedInput("x", [2, 3, 7, 7]);
        g.Output(g.Node("MaxPool", [x], Is("kernel_shape", kernel, kernel), Is("strides", stride, stride), Is("pads", pad, pad, pad, pad), I("ceil_mode", ceil)));
        Check(g, "x");
    }

    [Theory]
    [InlineData(3, 2, 1, 0)]
    [InlineData(3, 2, 1, 1)]
    [InlineData(2, 2, 0, 0)]
    [InlineData(3, 1, 0, 0)]
    public void AveragePool(int kernel, int stride, int pad, int countIncludePad)
    {
        var g = new OpGraph();
        var x = g.Input("x", [2, 3, 7, 6]);
        g.Output(g.Node("AveragePool", [x], Is("kernel_shape", kernel, kernel), Is("strides", stride, stride), Is("pads", pad, pad, pad, pad),
            I("count_include_pad", countIncludePad)));
        Check(g, "x");
    }

    [Fact]
    public void GlobalAveragePoolFlattenGemm()
    {
        var g = new OpGraph();
        var x = g.Input("x", [2, 3, 4, 5]);
        var pooled = g.Node("GlobalAveragePool", [x]);
        var flat = g.Node("Flatten", [pooled], I("axis", 1));
        g.Output(g.Node("Gemm", [flat, g.Constant("w", [4, 3]), g.Constant("b", [4])], I("transB", 1)));
        Check(g, "x", "w", "b");
    }

    [Fact]
    public void ReshapeTransposeSqueezeUnsqueeze()
    {
        var g = new OpGraph();
        var x = g.Input("x", [2, 3, 4]);
        var r = g.Node("Reshape", [x, g.Ints("shape", 2, 12, 1)]);
        var s = g.Node("Squeeze", [r, g.Ints("axes", 2)]);
        var u = g.Node("Unsqueeze", [s, g.Ints("axes2", 0)]);
        g.Output(g.Node("Transpose", [u], Is("perm", 2, 0, 1)));
        Check(g, "x");
    }

    [Fact]
    public void ConcatSplitSlicePad()
    {
        var g = new OpGraph();
        var a = g.Input("a", [2, 3, 4]);
        var b = g.Input("b", [2, 2, 4]);
        var cat = g.Node("Concat", [a, b], I("axis", 1));
        var parts = g.Nodes("Split", 2, [cat, g.Ints("split", 4, 1)], I("axis", 1));
        var sliced = g.Node("Slice", [parts[0], g.Ints("starts", 1, -3), g.Ints("ends", 3, 100), g.Ints("axes", 1, 2)]);
        var padded = g.Node("Pad", [sliced, g.Ints("pads", 0, 1, 2, 1, 0, 1), g.Constant("value", Tensor.Create(new[] { 0.5f }))]);
        // Only the first Split output reaches the loss: the other's gradient is zeros.
        g.Output(padded);
        Check(g, "a", "b");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SliceWithBoundsComputedFromTheShape(bool withAxes)
    {
        // ShuffleNetV2's channel split: the bounds come from Shape arithmetic (here kept computed, not folded),
        // the second half's start negative and its end past the dimension, so the rule's clamping is exercised.
        var g = new OpGraph();
        var x = g.Input("x", [2, 6, 3]);
        var shape = g.Graph.AddNode("Shape", [x], moduleName: "shape").Output;
        shape.ElementType = ElementType.Int64;
        Value IntNode(string op, Value?[] inputs, params (string Name, AttributeValue Value)[] attributes)
        {
            var v = g.Node(op, inputs, attributes);
            v.ElementType = ElementType.Int64;
            return v;
        }
        var channels = IntNode("Gather", [shape, g.Ints("index", 1)], I("axis", 0));
        var half = IntNode("Div", [channels, g.Ints("two", 2)]);
        var minusHalf = IntNode("Neg", [half]);
        var big = IntNode("Add", [channels, g.Ints("ten", 10)]);
        Value?[] Bounds(Value starts, Value ends) => withAxes ? [x, starts, ends, g.Ints("axes" + starts.Name, 1)] : [x, starts, ends];
        // Without axes the bounds cover axes 0 and 1: axis 0 is taken whole.
        Value Prefixed(long first, Value v) => IntNode("Concat", [g.Ints("p" + v.Name, first), v], I("axis", 0));
        var first = g.Node("Slice", withAxes ? Bounds(g.Ints("s0", 0), half) : [x, g.Ints("s0", 0, 0), Prefixed(100, half)]);
        var second = g.Node("Slice", withAxes ? Bounds(minusHalf, big) : [x, Prefixed(0, minusHalf), Prefixed(100, big)]);
        var mixed = g.Node("Mul", [first, g.Constant("w", [2, 3, 3])]);
        g.Output(g.Node("Concat", [second, mixed], I("axis", 1)));
        Assert.Contains(g.Graph.NodesOfType("Slice"), s => !s.Input(2).IsConstant);
        Check(g, "x");
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1)]
    public void Softmax(int axis)
    {
        var g = new OpGraph();
        var x = g.Input("x", [2, 3, 4]);
        g.Output(g.Node("Softmax", [x], I("axis", axis)));
        Check(g, "x");
    }

    [Fact]
    public void LogSoftmax()
    {
        var g = new OpGraph();
        var x = g.Input("x", [3, 5]);
        g.Output(g.Node("LogSoftmax", [x], I("axis", 1)));
        Check(g, "x");
    }

    [Theory]
    [InlineData("ReduceMean", 0)]
    [InlineData("ReduceMean", 1)]
    [InlineData("ReduceSum", 0)]
    [InlineData("ReduceSum", 1)]
    public void Reductions(string op, int keepDims)
    {
        var g = new OpGraph();
        var x = g.Input("x", [2, 3, 4]);
        g.Output(op == "ReduceMean"
            ? g.Node(op, [x], Is("axes", -1, 1), I("keepdims", keepDims))
            : g.Node(op, [x, g.Ints("axes", -1, 1)], I("keepdims", keepDims)));
        Check(g, "x");
    }

    [Fact]
    public void ReduceMeanOverAllAxes()
    {
        var g = new OpGraph();
        var x = g.Input("x", [2, 3, 4]);
        g.Output(g.Node("ReduceMean", [x], I("keepdims", 0)));
        Check(g, "x");
    }

    [Fact]
    public void BatchNormalization()
    {
        var g = new OpGraph();
        var x = g.Input("x", [2, 3, 4, 4]);
        var gamma = g.Constant("gamma", [3], 0.5f, 2f);
        var beta = g.Constant("beta", [3]);
        var mean = g.Constant("mean", [3]);
        var variance = g.Constant("var", [3], 0.5f, 2f);
        g.Output(g.Node("BatchNormalization", [x, gamma, beta, mean, variance], F("epsilon", 1e-3f)));
        Check(g, "x", "gamma", "beta", "mean", "var");
    }

    [Fact]
    public void ResizeNearestScales()
    {
        var g = new OpGraph();
        var x = g.Input("x", [2, 3, 3, 4]);
        g.Output(g.Node("Resize", [x, null, g.Constant("scales", Tensor.FromFloats([1f, 1f, 2f, 3f], 4))], S("mode", "nearest")));
        Check(g, "x");
    }

    [Fact]
    public void ResizeNearestSizesDownscale()
    {
        var g = new OpGraph();
        var x = g.Input("x", [2, 3, 6, 7]);
        g.Output(g.Node("Resize", [x, null, null, g.Ints("sizes", 2, 3, 4, 3)], S("mode", "nearest"),
            S("coordinate_transformation_mode", "half_pixel"), S("nearest_mode", "round_prefer_floor")));
        Check(g, "x");
    }

    [Fact]
    public void WhereExpandCast()
    {
        var g = new OpGraph();
        var x = g.Input("x", [2, 3]);
        var y = g.Input("y", [3]);
        var expanded = g.Node("Expand", [y, g.Ints("shape", 2, 3)]);
        var cond = g.Constant("cond", Tensor.Create(new[] { true, false, true, false, false, true }, 2, 3));
        var chosen = g.Node("Where", [cond, x, expanded]);
        g.Output(g.Node("Cast", [chosen], I("to", (long)ElementType.Float)));
        Check(g, "x", "y");
    }
}
