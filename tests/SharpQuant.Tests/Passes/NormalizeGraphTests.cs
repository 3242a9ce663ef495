using SharpQuant.Autodiff;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Passes.Normalization;
using SharpQuant.Runtime;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Passes;

/// <summary>
/// Load-time normalization folds constant subgraphs (Identity and Cast of constants, shape arithmetic that does not
/// follow a dynamic dimension) and never changes what the model computes: every test runs the model before and after
/// in ONNX Runtime and asks for the same bits.
/// </summary>
public class NormalizeGraphTests
{
    [Fact]
    public void FoldsIdentityCastAndStaticShapeArithmeticAndLeavesWhatFollowsTheBatch()
    {
        var g = SplitAndReshapeModel();
        var result = new NormalizeGraph().Run(g);
        var n = result.Graph;

        Assert.Equal(1, result.Report.Identities);
        Assert.Equal(1, result.Report.Casts);
        Assert.Empty(n.NodesOfType("Identity"));
        Assert.Empty(n.NodesOfType("Cast"));
        // The channel split's bounds came from Shape(x)[1] / 2: now constants with the values they had.
        var slices = n.NodesOfType("Slice").ToList();
        Assert.Equal(2, slices.Count);
        Assert.All(slices, s => Assert.True(s.Input(1).IsConstant && s.Input(2).IsConstant));
        Assert.Equal([[0L], [2L]], slices.Select(s => s.Input(1).ConstantValue!.ToInt64Array()).ToArray());
        Assert.Equal([[2L], [4L]], slices.Select(s => s.Input(2).ConstantValue!.ToInt64Array()).ToArray());
        // The Reshape's target starts with the batch (Shape(x)[0]): it stays computed.
        var reshape = Assert.Single(n.NodesOfType("Reshape"));
        Assert.False(reshape.Input(1).IsConstant);
        Assert.Contains(result.Report.Notes, note => note.Contains("follow a dynamic dimension"));
        Assert.Equal(0, n.Nodes.Count(node => node.OpType is "Gather" && node.Output.Uses.Any(u => u.Node.OpType == "Slice")));

        foreach (var batch in new[] { 1, 3 })
        {
            var input = Compare.RandomTensor(batch, -2f, 2f, batch, 4, 3, 3);
            using var before = new GraphExecutor(g);
            using var after = new GraphExecutor(n);
            Compare.BitwiseEqual(after.Run(input), before.Run(input));
        }
    }

    [Fact]
    public void WithStaticInputShapesTheWholeShapeChainBecomesConstant()
    {
        var g = SplitAndReshapeModel(batch: 2);
        var n = new NormalizeGraph().Run(g).Graph;
        Assert.True(Assert.Single(n.NodesOfType("Reshape")).Input(1).IsConstant);
        Assert.Empty(n.NodesOfType("Shape"));
        var input = Compare.RandomTensor(4, -2f, 2f, 2, 4, 3, 3);
        using var before = new GraphExecutor(g);
        using var after = new GraphExecutor(n);
        Compare.BitwiseEqual(after.Run(input), before.Run(input));
    }

    [Fact]
    public void RangeOverAStaticDimensionIsFoldedAndTheRestOfTheGraphStillIs()
    {
        // x [N, 4, 3, 3] → Gather(x, Range(0, Shape(x)[1], 1), axis 1): the channel indices 0..3, computed in the graph.
        var g = new Graph();
        g.Info.OnnxOpset = 13;
        var x = g.AddInput("x", ElementType.Float, [Dim.Named("N"), 4, 3, 3]);
        Value Int(string op, Value[] inputs, Dictionary<string, AttributeValue>? attributes = null)
        {
            var v = g.AddNode(op, inputs, moduleName: op.ToLowerInvariant(), attributes: attributes).Output;
            v.ElementType = ElementType.Int64;
            return v;
        }
        var shape = Int("Shape", [x]);
        var channels = Int("Gather", [shape, g.AddConstant("one", Tensor.Create(new long[] { 1 }, []))], new() { ["axis"] = AttributeValue.Of(0L) });
        var range = Int("Range", [g.AddConstant("start", Tensor.Create(new long[] { 0 }, [])), channels, g.AddConstant("delta", Tensor.Create(new long[] { 1 }, []))]);
        var picked = g.AddNode("Gather", [x, range], moduleName: "pick", attributes: new Dictionary<string, AttributeValue> { ["axis"] = AttributeValue.Of(1L) }).Output;
        g.AddOutput(g.AddNode("Relu", [picked], moduleName: "relu").Output);

        var n = new NormalizeGraph().Run(g).Graph;
        Assert.Empty(n.NodesOfType("Range"));
        Assert.Equal([0L, 1, 2, 3], n.FindNode("pick")!.Input(1).ConstantValue!.ToInt64Array());
        var input = Compare.RandomTensor(9, -2f, 2f, 2, 4, 3, 3);
        using var before = new GraphExecutor(g);
        using var after = new GraphExecutor(n);
        Compare.BitwiseEqual(after.Run(input), before.Run(input));
    }

    [SkippableTheory]
    [InlineData("mobilenet_v3_small", 5)]
    [InlineData("efficientnet_b0", 18)]
    [InlineData("mobilenet_v2_bn", 78)]
    [InlineData("shufflenet_v2_x1_0", 0)]
    public void ZooModelsComputeTheSameBitsAfterNormalization(string name, int identities)
    {
        var graph = OnnxModel.Load(TestData.ZooModelPath(name));
        graph.MakeBatchDynamic();
        var normalized = graph.Normalize(out var report);

        Assert.Equal(identities, graph.NodesOfType("Identity").Count());
        Assert.Equal(identities, report.Identities);
        Assert.Empty(normalized.NodesOfType("Identity"));
        Assert.DoesNotContain(normalized.NodesOfType("Slice"), s => s.Inputs.Skip(1).Any(i => i is { IsConstant: false }));
        var input = Compare.RandomTensor(11, -2f, 2f, 2, 3, 224, 224);
        using var before = new GraphExecutor(graph);
        using var after = new GraphExecutor(normalized);
        Compare.BitwiseEqual(after.Run(input), before.Run(input));
    }

    [SkippableFact]
    public void ShuffleNetsChannelSplitGetsConstantBoundsAndKeepsItsShuffleReshapesDynamic()
    {
        var graph = OnnxModel.Load(TestData.ZooModelPath("shufflenet_v2_x1_0"));
        graph.MakeBatchDynamic();
        var normalized = graph.Normalize(out var report);
        Assert.Equal(26, graph.NodesOfType("Slice").Count(s => s.Inputs.Skip(1).Any(i => i is { IsConstant: false })));
        // Its 32 Casts convert shape values, so they are folded with the shape arithmetic.
        Assert.Equal(32, graph.NodesOfType("Cast").Count());
        Assert.Empty(normalized.NodesOfType("Cast"));
        Assert.InRange(report.ShapeValues, 200, 300);
        // Each of the 16 channel shuffles reshapes to [N, 2, C/2, H, W] and back to [N, C, H, W]: N follows the batch,
        // so those 32 targets stay computed.
        Assert.Equal(32, normalized.NodesOfType("Reshape").Count(r => !r.Input(1).IsConstant));
        Assert.True(normalized.Nodes.Count < graph.Nodes.Count / 2, $"{graph.Nodes.Count} → {normalized.Nodes.Count} nodes");
    }

    [SkippableFact]
    public void MobileNetV2WithBatchNormFoldsEveryBatchNormOnceItsDeduplicatedStatisticsAreConstants()
    {
        var graph = OnnxModel.Load(TestData.ZooModelPath("mobilenet_v2_bn"));
        Assert.Equal(13, new FoldBatchNorm().Run(graph).Report.Folded.Count);
        var folded = new FoldBatchNorm().Run(graph.Normalize());
        Assert.Equal(52, folded.Report.Folded.Count);
        Assert.Empty(folded.Report.Skipped);
        Invariance.AssertPreserved(graph, folded.Graph, Compare.RandomTensor(12, -2f, 2f, 1, 3, 224, 224));
    }

    [SkippableFact]
    public void ShuffleNetsInputGradientIsTheSameWithComputedAndWithFoldedSliceBounds()
    {
        var graph = OnnxModel.Load(TestData.ZooModelPath("shufflenet_v2_x1_0"));
        graph.MakeBatchDynamic();
        var normalized = graph.Normalize();
        var input = new Dictionary<string, Tensor> { ["input"] = Compare.RandomTensor(13, -2f, 2f, 2, 3, 224, 224) };
        Tensor InputGradient(Graph g)
        {
            var gradients = GradientGraph.Build(g, GradientRequest.OfOutput(g.Outputs[0].Name, SeedKind.Sum, "input"));
            using var runner = new GradientRunner(gradients);
            return runner.Run(input).Gradient("input");
        }
        // Computed bounds go through the in-graph Pad rule, folded ones through the constant rule.
        var dynamic = InputGradient(graph);
        var folded = InputGradient(normalized);
        Assert.True(Compare.RelativeMaxError(dynamic.Floats, folded.Floats) < 1e-6);
        Assert.Contains(folded.Floats.ToArray(), v => v != 0);
    }

    /// <summary>
    /// x [N or batch, 4, 3, 3] → Conv (bias: Identity of a constant) → split into two halves by Slices whose bounds come
    /// from Shape(x)[1] / 2 (through a Cast of a constant divisor) → Add → Reshape to [Shape(x)[0], −1].
    /// </summary>
    private static Graph SplitAndReshapeModel(long? batch = null)
    {
        var g = new Graph();
        g.Info.OnnxOpset = 13;
        var x = g.AddInput("x", ElementType.Float, [batch is { } b ? Dim.Of(b) : Dim.Named("N"), 4, 3, 3]);
        var bias = g.AddNode("Identity", [g.AddConstant("b", Compare.RandomTensor(2, -1, 1, 4))], moduleName: "bias_identity").Output;
        var conv = g.AddNode("Conv", [x, g.AddConstant("w", Compare.RandomTensor(1, -1, 1, 4, 4, 1, 1)), bias], moduleName: "conv").Output;
        Value Int(string op, Value[] inputs, string name, Dictionary<string, AttributeValue>? attributes = null)
        {
            var v = g.AddNode(op, inputs, moduleName: name, attributes: attributes).Output;
            v.ElementType = ElementType.Int64;
            return v;
        }
        var axis0 = new Dictionary<string, AttributeValue> { ["axis"] = AttributeValue.Of(0L) };
        var shape = Int("Shape", [conv], "shape");
        var channels = Int("Gather", [shape, g.AddConstant("one", Tensor.Create(new long[] { 1 }, 1))], "channels", axis0);
        var two = Int("Cast", [g.AddConstant("two_f", Tensor.FromFloats([2f], 1))], "two", new() { ["to"] = AttributeValue.Of((long)ElementType.Int64) });
        var half = Int("Div", [channels, two], "half");
        var axes = g.AddConstant("axes", Tensor.Create(new long[] { 1 }, 1));
        var first = g.AddNode("Slice", [conv, g.AddConstant("zero", Tensor.Create(new long[] { 0 }, 1)), half, axes], moduleName: "first").Output;
        var second = g.AddNode("Slice", [conv, half, channels, axes], moduleName: "second").Output;
        var sum = g.AddNode("Add", [first, second], moduleName: "add").Output;
        var n = Int("Gather", [shape, g.AddConstant("zeroth", Tensor.Create(new long[] { 0 }, 1))], "batch", axis0);
        var target = Int("Concat", [n, g.AddConstant("rest", Tensor.Create(new long[] { -1 }, 1))], "target", axis0);
        g.AddOutput(g.AddNode("Reshape", [sum, target], moduleName: "reshape").Output);
        return g;
    }
}
