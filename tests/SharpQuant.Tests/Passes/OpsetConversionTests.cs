using SharpQuant.Passes;
using SharpQuant.Runtime;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Passes;

/// <summary>
/// Raising the opset to 13 keeps what each converted op computes: every model here runs in ONNX Runtime at its own
/// opset and again after the raise, and the outputs are compared.
/// </summary>
public class OpsetConversionTests
{
    private static Dictionary<string, AttributeValue> Attrs(params (string Name, AttributeValue Value)[] attributes) =>
        attributes.ToDictionary(a => a.Name, a => a.Value);

    private static (string, AttributeValue) I(string name, long v) => (name, AttributeValue.Of(v));
    private static (string, AttributeValue) F(string name, float v) => (name, AttributeValue.Of(v));
    private static (string, AttributeValue) S(string name, string v) => (name, AttributeValue.Of(v));
    private static (string, AttributeValue) Is(string name, params long[] v) => (name, AttributeValue.Of(v));
    private static (string, AttributeValue) Fs(string name, params float[] v) => (name, AttributeValue.Of(v));

    /// <summary>A graph at <paramref name="opset"/> with one float input x of <paramref name="shape"/> (null: shape not declared).</summary>
    private static (Graph Graph, Value X) NewGraph(long opset, long[]? shape)
    {
        var graph = new Graph();
        graph.Info.OnnxOpset = opset;
        var x = graph.AddInput("x", ElementType.Float, shape?.Select(Dim.Of).ToArray());
        return (graph, x);
    }

    private static Node Op(Graph graph, string op, Value?[] inputs, int outputs = 1, params (string, AttributeValue)[] attributes)
    {
        var node = graph.AddNode(op, inputs, outputs, moduleName: op.ToLowerInvariant() + graph.Nodes.Count, attributes: Attrs(attributes));
        foreach (var o in node.Outputs)
        {
            o.ElementType = ElementType.Float;
        }
        return node;
    }

    private static Dictionary<string, Tensor> Run(Graph graph, Dictionary<string, Tensor> feeds)
    {
        using var executor = new GraphExecutor(graph);
        var result = executor.Run(feeds);
        return result.OutputNames.ToDictionary(n => n, n => result[n]);
    }

    /// <summary>Runs the graph, raises a copy to 13, runs it again and asserts equal outputs (bit for bit unless a tolerance is given); returns the raised copy.</summary>
    private static Graph AssertRaisePreserves(Graph graph, Tensor input, double tolerance = 0)
    {
        graph.Validate();
        var feeds = new Dictionary<string, Tensor> { ["x"] = input };
        var before = Run(graph, feeds);
        var raised = graph.Clone();
        OpsetUpgrade.RaiseTo(raised, 13);
        Assert.Equal(13, raised.Info.OnnxOpset);
        var after = Run(raised, feeds);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var (name, expected) in before)
        {
            var actual = after[name];
            Assert.Equal(expected.Shape, actual.Shape);
            if (tolerance == 0 || expected.ElementType != ElementType.Float)
            {
                Assert.Equal(expected.ElementType, actual.ElementType);
                Assert.True(expected.Bytes.SequenceEqual(actual.Bytes), $"output '{name}' differs after the raise");
            }
            else
            {
                Assert.True(Compare.RelativeMaxError(actual.Floats, expected.Floats) <= tolerance, $"output '{name}' differs after the raise");
            }
        }
        return raised;
    }

    private static Tensor Input(params long[] shape) => Compare.RandomTensor(3, -2f, 2f, shape);

    private static Value Floats(Graph graph, string name, params float[] values) => graph.AddConstant(name, Tensor.FromFloats(values, values.Length));

    private static Value Ints(Graph graph, string name, params long[] values) => graph.AddConstant(name, Tensor.Create(values, values.Length));

    public static TheoryData<string, string> Opset11ResizeModes => new()
    {
        { "linear", "half_pixel" },
        { "linear", "align_corners" },
        { "linear", "pytorch_half_pixel" },
        { "nearest", "half_pixel" },
        { "nearest", "asymmetric" },
        { "cubic", "half_pixel" },
    };

    [Theory]
    [MemberData(nameof(Opset11ResizeModes))]
    public void Opset11ResizeKeepsItsPixelsAndDropsTheEmptyRoi(string mode, string transform)
    {
        var (g, x) = NewGraph(11, [1, 2, 5, 6]);
        var resize = Op(g, "Resize", [x, g.AddConstant("roi", Tensor.FromFloats([], 0)), Floats(g, "scales", 1, 1, 2.5f, 1.5f)], 1, S("mode", mode), S("coordinate_transformation_mode", transform));
        g.AddOutput(resize.Output);
        var raised = AssertRaisePreserves(g, Input(1, 2, 5, 6));
        var converted = Assert.Single(raised.NodesOfType("Resize"));
        Assert.Null(converted.InputOrNull(1));
        Assert.Equal(transform, converted.GetString("coordinate_transformation_mode", ""));
    }

    [Fact]
    public void Opset11ResizeBySizesOmitsTheEmptyScales()
    {
        var (g, x) = NewGraph(11, [1, 3, 8, 8]);
        var resize = Op(g, "Resize", [x, g.AddConstant("roi", Tensor.FromFloats([], 0)), g.AddConstant("scales", Tensor.FromFloats([], 0)), Ints(g, "sizes", 1, 3, 5, 11)], 1, S("mode", "linear"));
        g.AddOutput(resize.Output);
        var raised = AssertRaisePreserves(g, Input(1, 3, 8, 8));
        var converted = Assert.Single(raised.NodesOfType("Resize"));
        Assert.Null(converted.InputOrNull(2));
        Assert.Equal("sizes", converted.Input(3).Name);
    }

    [Theory]
    [InlineData("floor", "round_prefer_ceil")]
    [InlineData("round_prefer_floor", "ceil")]
    public void TfHalfPixelForNearestBecomesHalfPixelWithShiftedRounding(string nearest, string expected)
    {
        var (g, x) = NewGraph(11, [1, 1, 7, 9]);
        var resize = Op(g, "Resize", [x, g.AddConstant("roi", Tensor.FromFloats([], 0)), Floats(g, "scales", 1, 1, 0.6f, 1.7f)], 1,
            S("mode", "nearest"), S("coordinate_transformation_mode", "tf_half_pixel_for_nn"), S("nearest_mode", nearest));
        g.AddOutput(resize.Output);
        var raised = AssertRaisePreserves(g, Compare.RandomTensor(5, -1, 1, 1, 1, 7, 9));
        var converted = Assert.Single(raised.NodesOfType("Resize"));
        Assert.Equal("half_pixel", converted.GetString("coordinate_transformation_mode", ""));
        Assert.Equal(expected, converted.GetString("nearest_mode", ""));
    }

    [Theory]
    [InlineData("nearest", new[] { 1f, 1f, 2f, 3f })]
    [InlineData("nearest", new[] { 1f, 1f, 0.5f, 0.6f })]
    [InlineData("nearest", new[] { 1f, 1f, 2.5f, 0.6f })]
    [InlineData("linear", new[] { 1f, 1f, 2.5f, 0.6f })]
    public void Opset10ResizeKeepsAsymmetricCoordinatesAndItsRounding(string mode, float[] scales)
    {
        var (g, x) = NewGraph(10, [2, 2, 6, 7]);
        var resize = Op(g, "Resize", [x, Floats(g, "scales", scales)], 1, S("mode", mode));
        g.AddOutput(resize.Output);
        var raised = AssertRaisePreserves(g, Input(2, 2, 6, 7));
        Assert.All(raised.NodesOfType("Resize"), r => Assert.Equal("asymmetric", r.GetString("coordinate_transformation_mode", "")));
        // One nearest_mode cannot round down on one axis and up on another: that case takes two Resizes.
        Assert.Equal(mode == "nearest" && scales.Any(s => s < 1) && scales.Any(s => s > 1) ? 2 : 1, raised.NodesOfType("Resize").Count());
    }

    [Theory]
    [InlineData(9, "nearest")]
    [InlineData(9, "linear")]
    [InlineData(7, "nearest")]
    [InlineData(7, "linear")]
    public void UpsampleBecomesResize(long opset, string mode)
    {
        var (g, x) = NewGraph(opset, [1, 3, 4, 5]);
        var scales = new[] { 1f, 1f, 2f, 3f };
        var upsample = opset >= 9
            ? Op(g, "Upsample", [x, Floats(g, "scales", scales)], 1, S("mode", mode))
            : Op(g, "Upsample", [x], 1, S("mode", mode), Fs("scales", scales));
        var relu = Op(g, "Relu", [upsample.Output]);
        g.AddOutput(relu.Output);
        var raised = AssertRaisePreserves(g, Input(1, 3, 4, 5));
        Assert.Empty(raised.NodesOfType("Upsample"));
        var resize = Assert.Single(raised.NodesOfType("Resize"));
        Assert.Equal(mode, resize.GetString("mode", ""));
        Assert.Equal(upsample.Output.Name, resize.Output.Name);
        Assert.Equal(new float[] { 1, 1, 2, 3 }, resize.ConstantInput(2)!.ToArray<float>());
    }

    [Theory]
    [InlineData(10)]
    [InlineData(11)]
    [InlineData(12)]
    public void UpsampleRaisedToAnIntermediateOpsetTakesThatOpsetsResizeForm(long target)
    {
        var (g, x) = NewGraph(9, [1, 2, 3, 3]);
        var upsample = Op(g, "Upsample", [x, Floats(g, "scales", 1, 1, 2, 3)], 1, S("mode", "linear"));
        g.AddOutput(upsample.Output);
        var input = Input(1, 2, 3, 3);
        var before = Run(g, new() { ["x"] = input }).Values.Single();
        var raised = g.Clone();
        OpsetUpgrade.RaiseTo(raised, target);
        Assert.Equal(target, raised.Info.OnnxOpset);
        var resize = Assert.Single(raised.Nodes);
        Assert.Equal(target == 10 ? 2 : 3, resize.Inputs.Count);
        Assert.Equal(before.ToArray<float>(), Run(raised, new() { ["x"] = input }).Values.Single().ToArray<float>());
    }

    [Theory]
    [InlineData("Softmax")]
    [InlineData("LogSoftmax")]
    [InlineData("Hardmax")]
    public void SoftmaxOfUnknownRankKeepsTheTwoDimensionalMeaning(string op)
    {
        // No declared shape and a producer whose rank nothing tells: the Flatten → op → Reshape form needs no rank.
        var (g, x) = NewGraph(11, null);
        var shape = Op(g, "Shape", [x]);
        shape.Output.ElementType = ElementType.Int64;
        var reshape = Op(g, "Reshape", [x, shape.Output]);
        var softmax = Op(g, op, [reshape.Output], 1, I("axis", 1));
        g.AddOutput(softmax.Output);
        var raised = AssertRaisePreserves(g, Input(2, 3, 4, 5), tolerance: 1e-6);
        Assert.Single(raised.NodesOfType("Flatten"));
        Assert.Equal(-1, Assert.Single(raised.NodesOfType(op)).GetInt("axis", 0));
        Assert.Equal(softmax.Output.Name, raised.Outputs[0].Name);
    }

    [Fact]
    public void SoftmaxRankIsFollowedThroughShapeArithmetic()
    {
        // Reshape(x, Concat(Slice(Shape(x), 0, 1), [-1])) is rank 2 even though nothing records its shape: Softmax stays one node.
        var (g, x) = NewGraph(9, [2, 3, 4]);
        var shape = Op(g, "Shape", [x]);
        var first = Op(g, "Slice", [shape.Output], 1, Is("starts", 0), Is("ends", 1));
        var concat = Op(g, "Concat", [first.Output, Ints(g, "rest", -1)], 1, I("axis", 0));
        foreach (var n in new[] { shape, first, concat })
        {
            n.Output.ElementType = ElementType.Int64;
        }
        var reshape = Op(g, "Reshape", [x, concat.Output]);
        var softmax = Op(g, "Softmax", [reshape.Output]);
        g.AddOutput(softmax.Output);
        var raised = AssertRaisePreserves(g, Input(2, 3, 4));
        Assert.Empty(raised.NodesOfType("Flatten"));
        Assert.Equal(-1, raised.NodesOfType("Softmax").Single().GetInt("axis", 0));
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(-2, true)]
    [InlineData(3, false)]
    [InlineData(-1, false)]
    public void SoftmaxOfARank4InputAtOpset11(long axis, bool needsFlatten)
    {
        var (g, x) = NewGraph(11, [2, 3, 4, 5]);
        var softmax = Op(g, "Softmax", [x], 1, I("axis", axis));
        var relu = Op(g, "Relu", [softmax.Output]);
        g.AddOutput(relu.Output);
        var raised = AssertRaisePreserves(g, Input(2, 3, 4, 5), tolerance: 1e-6);
        Assert.Equal(needsFlatten ? 1 : 0, raised.NodesOfType("Flatten").Count());
        Assert.Equal(-1, Assert.Single(raised.NodesOfType("Softmax")).GetInt("axis", 0));
    }

    [Fact]
    public void SoftmaxWithTheOldDefaultAxisOnARank2InputOnlyGetsTheAxisWritten()
    {
        var (g, x) = NewGraph(9, [3, 10]);
        var softmax = Op(g, "Softmax", [x]);
        g.AddOutput(softmax.Output);
        var raised = AssertRaisePreserves(g, Input(3, 10));
        Assert.Equal(["Softmax"], raised.Nodes.Select(n => n.OpType));
        Assert.Equal(-1, raised.Nodes[0].GetInt("axis", 0));
    }

    [Fact]
    public void ClipAttributesBecomeInputsAndAMissingBoundStaysMissing()
    {
        var (g, x) = NewGraph(7, [2, 8]);
        var both = Op(g, "Clip", [x], 1, F("min", -0.5f), F("max", 1.25f));
        var lowerOnly = Op(g, "Clip", [both.Output], 1, F("min", 0f));
        g.AddOutput(lowerOnly.Output);
        var raised = AssertRaisePreserves(g, Input(2, 8));
        var clips = raised.NodesOfType("Clip").ToList();
        Assert.Equal(1.25f, clips[0].ConstantInput(2)!.Floats[0]);
        Assert.Null(clips[1].InputOrNull(2));
        Assert.All(clips, c => Assert.Empty(c.Attributes));
    }

    [Theory]
    [InlineData("constant")]
    [InlineData("reflect")]
    [InlineData("edge")]
    public void PadAttributesBecomeInputs(string mode)
    {
        var (g, x) = NewGraph(7, [1, 2, 4, 5]);
        var pad = Op(g, "Pad", [x], 1, S("mode", mode), Is("pads", 0, 0, 1, 2, 0, 0, 2, 1), F("value", 1.5f));
        g.AddOutput(pad.Output);
        var raised = AssertRaisePreserves(g, Input(1, 2, 4, 5));
        var converted = Assert.Single(raised.Nodes);
        Assert.Equal(new long[] { 0, 0, 1, 2, 0, 0, 2, 1 }, converted.ConstantInput(1)!.ToInt64Array());
        Assert.Equal(mode == "constant", converted.InputOrNull(2) is not null);
    }

    [Fact]
    public void SplitSqueezeUnsqueezeReduceSumAndSliceAttributesBecomeInputs()
    {
        var (g, x) = NewGraph(7, [2, 6, 4]);
        var split = Op(g, "Split", [x], 2, I("axis", 1), Is("split", 2, 4));
        var slice = Op(g, "Slice", [split.Outputs[1]], 1, Is("starts", 1, 0), Is("ends", 3, 100), Is("axes", 1, 2));
        var unsqueeze = Op(g, "Unsqueeze", [slice.Output], 1, Is("axes", 0));
        var squeeze = Op(g, "Squeeze", [unsqueeze.Output], 1, Is("axes", 0));
        var sum = Op(g, "ReduceSum", [squeeze.Output], 1, Is("axes", 2), I("keepdims", 0));
        g.AddOutput(split.Outputs[0]);
        g.AddOutput(sum.Output);
        var raised = AssertRaisePreserves(g, Input(2, 6, 4), tolerance: 1e-6);
        Assert.All(raised.Nodes.Where(n => n.OpType != "Split"), n => Assert.DoesNotContain("axes", n.Attributes.Keys));
        Assert.Equal(new long[] { 2, 4 }, raised.NodesOfType("Split").Single().ConstantInput(1)!.ToInt64Array());
        Assert.Equal(new long[] { 1, 0 }, raised.NodesOfType("Slice").Single().ConstantInput(1)!.ToInt64Array());
    }

    [Fact]
    public void TopKAttributeBecomesAnInput()
    {
        var (g, x) = NewGraph(7, [3, 9]);
        var topk = Op(g, "TopK", [x], 2, I("k", 4), I("axis", 1));
        topk.Outputs[1].ElementType = ElementType.Int64;
        g.AddOutput(topk.Outputs[0]);
        g.AddOutput(topk.Outputs[1]);
        var raised = AssertRaisePreserves(g, Input(3, 9));
        Assert.Equal(new long[] { 4 }, raised.Nodes.Single().ConstantInput(1)!.ToInt64Array());
    }

    [Fact]
    public void ScatterBecomesScatterElements()
    {
        var (g, x) = NewGraph(9, [3, 4]);
        var scatter = Op(g, "Scatter", [x, g.AddConstant("idx", Tensor.Create([1L, 0, 3, 2, 2, 1], 2, 3)), g.AddConstant("upd", Tensor.FromFloats([9, 8, 7, 6, 5, 4], 2, 3))], 1, I("axis", 1));
        g.AddOutput(scatter.Output);
        var raised = AssertRaisePreserves(g, Input(3, 4));
        Assert.Equal(["ScatterElements"], raised.Nodes.Select(n => n.OpType));
    }

    [Fact]
    public void BatchNormalizationLosesSpatialAndAPerActivationOneIsWrittenOut()
    {
        var (g, x) = NewGraph(7, [2, 3, 2, 2]);
        Value Param(string name, int seed, float lo, float hi, params long[] shape) => g.AddConstant(name, Compare.RandomTensor(seed, lo, hi, shape));
        var spatial = Op(g, "BatchNormalization", [x, Param("g", 1, 0.5f, 2, 3), Param("b", 2, -1, 1, 3), Param("m", 3, -1, 1, 3), Param("v", 4, 0.5f, 2, 3)], 1, I("spatial", 1), F("epsilon", 1e-3f));
        var perActivation = Op(g, "BatchNormalization", [spatial.Output, Param("g2", 5, 0.5f, 2, 3, 2, 2), Param("b2", 6, -1, 1, 3, 2, 2), Param("m2", 7, -1, 1, 3, 2, 2), Param("v2", 8, 0.5f, 2, 3, 2, 2)], 1, I("spatial", 0));
        g.AddOutput(perActivation.Output);
        var input = Input(2, 3, 2, 2);
        var raised = g.Clone();
        OpsetUpgrade.RaiseTo(raised, 13);
        var bn = Assert.Single(raised.NodesOfType("BatchNormalization"));
        Assert.DoesNotContain("spatial", bn.Attributes.Keys);
        // ONNX Runtime's CPU kernel has no spatial = 0, so the reference is the formula, computed here.
        var afterSpatial = Run(Truncate(g, spatial.Output), new() { ["x"] = input }).Values.Single().ToArray<float>();
        var expected = new float[afterSpatial.Length];
        for (var i = 0; i < expected.Length; i++)
        {
            var k = i % 12;
            var p = (string n) => g.GetValue(n).ConstantValue!.Floats[k];
            expected[i] = (float)((afterSpatial[i] - p("m2")) / Math.Sqrt(p("v2") + 1e-5) * p("g2") + p("b2"));
        }
        var actual = Run(raised, new() { ["x"] = input }).Values.Single().Floats;
        Assert.True(Compare.RelativeMaxError(actual, expected) < 1e-6);
    }

    /// <summary>A copy of the graph whose only output is <paramref name="value"/>.</summary>
    private static Graph Truncate(Graph graph, Value value)
    {
        var copy = graph.Clone();
        copy.SetOutput(0, copy.GetValue(value.Name));
        copy.RemoveUnused();
        return copy;
    }

    [Fact]
    public void DropoutBecomesIdentityAndAReadMaskBecomesOnes()
    {
        var (g, x) = NewGraph(10, [2, 5]);
        var dropout = Op(g, "Dropout", [x], 2, F("ratio", 0.3f));
        dropout.Outputs[1].ElementType = ElementType.Bool;
        var relu = Op(g, "Relu", [dropout.Output]);
        g.AddOutput(relu.Output);
        g.AddOutput(dropout.Outputs[1]);
        var input = Input(2, 5);
        var before = Run(g, new() { ["x"] = input });
        var raised = g.Clone();
        OpsetUpgrade.RaiseTo(raised, 13);
        Assert.Empty(raised.NodesOfType("Dropout"));
        Assert.Single(raised.NodesOfType("Identity"));
        var after = Run(raised, new() { ["x"] = input });
        Assert.Equal(before[relu.Output.Name].ToArray<float>(), after[relu.Output.Name].ToArray<float>());
        // In inference nothing is dropped: ONNX's reference gives a mask of ones (ONNX Runtime's opset-10 kernel, zeros).
        Assert.All(after[dropout.Outputs[1].Name].ToArray<bool>(), Assert.True);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void IfBodiesAreRaisedWithTheGraphAndStillReadOuterValues(bool condition)
    {
        // then: Softmax(axis 1) of the outer x (rank 3: needs the 2-D form); else: Unsqueeze then Squeeze of x (axes to inputs).
        var (g, x) = NewGraph(11, [2, 3, 4]);
        var cond = g.AddInput("cond", ElementType.Bool, []);
        var relu = Op(g, "Relu", [x]);
        global::Onnx.GraphProto Branch(string name, params global::Onnx.NodeProto[] nodes)
        {
            var body = new global::Onnx.GraphProto { Name = name };
            body.Node.AddRange(nodes);
            body.Output.Add(ProtoModels.FloatValue(nodes[^1].Output[0], 2, 3, 4));
            return body;
        }
        var softmax = ProtoModels.Node("Softmax", "then_softmax", [relu.Output.Name], ["then_y"]);
        softmax.Attribute.Add(new global::Onnx.AttributeProto { Name = "axis", Type = global::Onnx.AttributeProto.Types.AttributeType.Int, I = 1 });
        var unsqueeze = ProtoModels.Node("Unsqueeze", "else_unsqueeze", [relu.Output.Name], ["else_u"]);
        var squeeze = ProtoModels.Node("Squeeze", "else_squeeze", ["else_u"], ["else_y"]);
        foreach (var n in new[] { unsqueeze, squeeze })
        {
            var axes = new global::Onnx.AttributeProto { Name = "axes", Type = global::Onnx.AttributeProto.Types.AttributeType.Ints };
            axes.Ints.Add(0);
            n.Attribute.Add(axes);
        }
        var branch = g.AddNode("If", [cond], moduleName: "choose", attributes: Attrs(
            ("then_branch", new AttributeValue(AttributeKind.Graph, Branch("then", softmax))),
            ("else_branch", new AttributeValue(AttributeKind.Graph, Branch("else", unsqueeze, squeeze)))));
        branch.Output.ElementType = ElementType.Float;
        g.AddOutput(branch.Output);
        var feeds = new Dictionary<string, Tensor> { ["x"] = Input(2, 3, 4), ["cond"] = Tensor.Create([condition]).Reshape() };
        var before = Run(g, feeds).Values.Single();
        var raised = g.Clone();
        OpsetUpgrade.RaiseTo(raised, 13);
        var after = Run(raised, feeds).Values.Single();
        Assert.True(Compare.RelativeMaxError(after.Floats, before.Floats) <= 1e-6);
        var then = (global::Onnx.GraphProto)raised.Nodes.Single(n => n.OpType == "If").Attributes["then_branch"].Value;
        Assert.Contains(then.Node, n => n.OpType == "Flatten");
        Assert.DoesNotContain(then.Input, i => i.Name == relu.Output.Name);
        var otherwise = (global::Onnx.GraphProto)raised.Nodes.Single(n => n.OpType == "If").Attributes["else_branch"].Value;
        Assert.All(otherwise.Node, n => Assert.DoesNotContain(n.Attribute, a => a.Name == "axes"));
    }

    [Fact]
    public void ConversionEndsInAValidGraphOrderedTopologically()
    {
        var (g, x) = NewGraph(9, [1, 2, 3, 3]);
        var upsample = Op(g, "Upsample", [x, Floats(g, "scales", 1, 1, 2, 2)]);
        var softmax = Op(g, "Softmax", [upsample.Output], 1, I("axis", 1));
        g.AddOutput(softmax.Output);
        var raised = AssertRaisePreserves(g, Input(1, 2, 3, 3), tolerance: 1e-6);
        raised.Validate();
        Assert.Equal(["Flatten", "Reshape", "Resize", "Shape", "Softmax"], raised.Nodes.Select(n => n.OpType).Order());
        Assert.Equal("Resize", raised.Nodes[0].OpType);
        Assert.Equal("Reshape", raised.Nodes[^1].OpType);
    }

    [Theory]
    [InlineData(new[] { 1f, 1f, 0.5f, 2f })]
    [InlineData(new[] { 1f, 1f, 2f, 3f })]
    [InlineData(new[] { 1f, 1f, 0.7f, 0.4f })]
    public void Opset10NearestResizeWithComputedScalesShrinksThenEnlarges(float[] scales)
    {
        var (g, x) = NewGraph(10, [1, 2, 5, 7]);
        var computed = Op(g, "Abs", [Floats(g, "s", scales)]);
        var resize = Op(g, "Resize", [x, computed.Output], 1, S("mode", "nearest"));
        g.AddOutput(resize.Output);
        var raised = AssertRaisePreserves(g, Input(1, 2, 5, 7));
        var resizes = raised.NodesOfType("Resize").ToList();
        Assert.Equal(["ceil", "floor"], resizes.Select(r => r.GetString("nearest_mode", "")));
        Assert.Equal(["Min", "Max"], resizes.Select(r => r.Input(2).Producer!.OpType));
    }

    [Fact]
    public void ExpressibleOnlyWithADifferentBatchIsRefusedNamingOpNodeAndWhy()
    {
        var (g, x) = NewGraph(8, [2, 3, 4]);
        var body = new global::Onnx.GraphProto { Name = "body" };
        var scan = g.AddNode("Scan", [null, x], 2, moduleName: "rnn.scan",
            attributes: Attrs(I("num_scan_inputs", 1), ("body", new AttributeValue(AttributeKind.Graph, body))));
        g.AddOutput(scan.Outputs[1]);
        var e = Assert.Throws<UnsupportedOpException>(() => OpsetUpgrade.RaiseTo(g, 13));
        Assert.Equal("Scan", e.OpType);
        Assert.Equal("rnn.scan", e.NodeName);
        Assert.Contains("batch other than a known batch of 1", e.Message);
        Assert.Contains("from 8 to 13", e.Message);
        Assert.Equal(8, g.Info.OnnxOpset);
    }

    [Fact]
    public void ImageScalerBecomesMulAndAddOverChannels()
    {
        var (g, x) = NewGraph(8, [2, 3, 4, 5]);
        var scaler = Op(g, "ImageScaler", [x], 1, F("scale", 0.5f), Fs("bias", -1f, 2f, 0.25f));
        var relu = Op(g, "Relu", [scaler.Output]);
        g.AddOutput(relu.Output);
        var raised = AssertRaisePreserves(g, Input(2, 3, 4, 5));
        Assert.Equal(["Mul", "Add", "Relu"], raised.Nodes.Select(n => n.OpType));
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 1)]
    [InlineData(0, 0)]
    [InlineData(1, 0)]
    public void ExperimentalMeanVarianceNormalizationGetsItsAxes(long acrossChannels, long normalizeVariance)
    {
        var (g, x) = NewGraph(8, [2, 3, 4, 5]);
        var mvn = Op(g, "MeanVarianceNormalization", [x], 1, I("across_channels", acrossChannels), I("normalize_variance", normalizeVariance));
        g.AddOutput(mvn.Output);
        var raised = AssertRaisePreserves(g, Input(2, 3, 4, 5), tolerance: 1e-5);
        Assert.Equal(normalizeVariance == 1 ? ["MeanVarianceNormalization"] : ["ReduceMean", "Sub"], raised.Nodes.Select(n => n.OpType));
    }

    [Fact]
    public void TfHalfPixelForNearestWithARoundingNoOtherMappingMatchesIsRefusedBeforeAnyEdit()
    {
        var (g, x) = NewGraph(11, [1, 1, 4, 4]);
        var clip = Op(g, "Clip", [x]);
        var resize = g.AddNode("Resize", [clip.Output, g.AddConstant("roi", Tensor.FromFloats([], 0)), Floats(g, "scales", 1, 1, 2, 2)], moduleName: "decoder.up",
            attributes: Attrs(S("mode", "nearest"), S("coordinate_transformation_mode", "tf_half_pixel_for_nn"), S("nearest_mode", "ceil")));
        var softmax = Op(g, "Softmax", [resize.Output], 1, I("axis", 1));
        g.AddOutput(softmax.Output);
        var e = Assert.Throws<UnsupportedOpException>(() => OpsetUpgrade.RaiseTo(g, 13));
        Assert.Equal("decoder.up", e.NodeName);
        Assert.Contains("'tf_half_pixel_for_nn' is gone at opset 13", e.Message);
        Assert.Equal(11, g.Info.OnnxOpset);
        Assert.Equal(["Clip", "Resize", "Softmax"], g.Nodes.Select(n => n.OpType));
        Assert.Equal(1, softmax.GetInt("axis", 0));
    }

    [Fact]
    public void UnknownOpIsRefusedAndTheGraphIsLeftAsItWas()
    {
        var (g, x) = NewGraph(8, [2, 3]);
        var clip = Op(g, "Clip", [x], 1, F("min", 0f));
        var odd = g.AddNode("NotAnOnnxOp", [clip.Output], moduleName: "odd");
        g.AddOutput(odd.Output);
        var e = Assert.Throws<UnsupportedOpException>(() => OpsetUpgrade.RaiseTo(g, 13));
        Assert.Contains("does not know how this op changed", e.Message);
        Assert.Equal("odd", e.NodeName);
        Assert.Equal(8, g.Info.OnnxOpset);
        Assert.True(clip.Attributes.ContainsKey("min"));
    }

    [SkippableFact]
    public void RealModelsAtOpsets8And9RaiseTo13WithTheSameOutputs()
    {
        // The default ResNet18 (CNTK, opset 8) and ppocr-cls (Paddle, opset 9, ends in Softmax).
        foreach (var (graph, input) in new[] { (TestModels.ResNet18(), TestModels.ResNet18Input(seed: 4, batch: 2)), (TestModels.Ppocr(), TestModels.PpocrInput(seed: 5, batch: 2)) })
        {
            var opset = graph.Info.OnnxOpset;
            Assert.InRange(opset, 8, 9);
            var name = graph.Inputs[0].Name;
            var before = Run(graph, new() { [name] = input }).Values.Single();
            var raised = graph.Clone();
            OpsetUpgrade.RaiseTo(raised, 13);
            var after = Run(raised, new() { [name] = input }).Values.Single();
            Assert.Equal(before.Shape, after.Shape);
            Assert.True(Compare.RelativeMaxError(after.Floats, before.Floats) <= 1e-6, $"opset {opset} model changed its outputs");
            // ppocr's Softmax input has no recorded shape; its rank (2) is followed back through Reshape's shape arithmetic.
            Assert.Equal(graph.Nodes.Count, raised.Nodes.Count);
        }
    }
}
