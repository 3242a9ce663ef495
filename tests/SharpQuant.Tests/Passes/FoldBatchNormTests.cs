using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Runtime;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Passes;

public class FoldBatchNormTests
{
    [SkippableFact]
    public void ResNet18FoldsEveryBatchNormAndKeepsOutputs()
    {
        var graph = TestModels.ResNet18();
        var result = new FoldBatchNorm().Run(graph);
        Assert.True(result.Changed);
        Assert.Equal(22, result.Report.Folded.Count);
        Assert.Empty(result.Report.Skipped);
        Assert.Empty(result.Graph.NodesOfType("BatchNormalization"));
        Assert.Equal(22, graph.NodesOfType("BatchNormalization").Count());
        var conv = result.Graph.FindNode("stage1.block0.conv1")!;
        var stats = BatchNormStats.Of(conv)!;
        Assert.Equal("stage1.block0.bn1", stats.ModuleName);
        Assert.Equal(64, stats.Gamma.Length);
        Assert.Equal(graph.Outputs[0].Name, result.Graph.Outputs[0].Name);
        Invariance.AssertPreserved(graph, result.Graph, RealImages.ResNet18Batch());
    }

    [SkippableFact]
    public void PpocrFoldsItsBatchNormsAndKeepsOutputs()
    {
        var graph = TestModels.Ppocr();
        var result = new FoldBatchNorm().Run(graph);
        Assert.Equal(35, result.Report.Folded.Count + result.Report.Skipped.Count);
        Assert.Equal(35, result.Report.Folded.Count);
        Invariance.AssertPreserved(graph, result.Graph, RealImages.PpocrBatch());
    }

    private static (Graph Graph, Node Bn) LayerThenBatchNorm(string op, int outChannels, Func<Graph, Value, Node> layer, long[] inputShape)
    {
        var g = new Graph();
        var x = g.AddInput("x", ElementType.Float, inputShape.Select(Dim.Of).ToArray());
        var node = layer(g, x);
        var random = new Random(7);
        Tensor Vec(float lo, float hi) => Tensor.FromFloats(Enumerable.Range(0, outChannels).Select(_ => lo + (float)random.NextDouble() * (hi - lo)).ToArray(), outChannels);
        var bn = g.AddNode("BatchNormalization", [node.Output, g.AddConstant("g", Vec(-2, 2)), g.AddConstant("b", Vec(-1, 1)), g.AddConstant("m", Vec(-1, 1)), g.AddConstant("v", Vec(0.1f, 2))], moduleName: "bn",
            attributes: new Dictionary<string, AttributeValue> { ["epsilon"] = AttributeValue.Of(1e-3f) });
        g.AddNode("Relu", [bn.Output], moduleName: "relu");
        g.AddOutput(g.Nodes[^1].Output);
        _ = op;
        return (g, bn);
    }

    public static TheoryData<string> LayerKinds => new() { "Conv", "ConvGrouped", "ConvTranspose", "GemmTransB", "Gemm", "MatMul" };

    [Theory]
    [MemberData(nameof(LayerKinds))]
    public void FoldsIntoEachLayerKindExactly(string kind)
    {
        var (graph, _) = kind switch
        {
            "Conv" => LayerThenBatchNorm(kind, 4, (g, x) => g.AddNode("Conv", [x, g.AddConstant("w", Compare.RandomTensor(1, -1, 1, 4, 3, 3, 3))], moduleName: "layer",
                attributes: new Dictionary<string, AttributeValue> { ["pads"] = AttributeValue.Of(new long[] { 1, 0, 0, 1 }) }), [2, 3, 6, 6]),
            "ConvGrouped" => LayerThenBatchNorm(kind, 6, (g, x) => g.AddNode("Conv", [x, g.AddConstant("w", Compare.RandomTensor(2, -1, 1, 6, 2, 3, 3)), g.AddConstant("bias", Compare.RandomTensor(3, -1, 1, 6))], moduleName: "layer",
                attributes: new Dictionary<string, AttributeValue> { ["group"] = AttributeValue.Of(2L) }), [2, 4, 6, 6]),
            "ConvTranspose" => LayerThenBatchNorm(kind, 6, (g, x) => g.AddNode("ConvTranspose", [x, g.AddConstant("w", Compare.RandomTensor(4, -1, 1, 4, 3, 2, 2))], moduleName: "layer",
                attributes: new Dictionary<string, AttributeValue> { ["group"] = AttributeValue.Of(2L), ["strides"] = AttributeValue.Of(new long[] { 2, 2 }) }), [2, 4, 5, 5]),
            "GemmTransB" => LayerThenBatchNorm(kind, 5, (g, x) => g.AddNode("Gemm", [x, g.AddConstant("w", Compare.RandomTensor(5, -1, 1, 5, 7)), g.AddConstant("bias", Compare.RandomTensor(6, -1, 1, 5))], moduleName: "layer",
                attributes: new Dictionary<string, AttributeValue> { ["transB"] = AttributeValue.Of(1L), ["beta"] = AttributeValue.Of(0.5f) }), [3, 7]),
            "Gemm" => LayerThenBatchNorm(kind, 5, (g, x) => g.AddNode("Gemm", [x, g.AddConstant("w", Compare.RandomTensor(7, -1, 1, 7, 5))], moduleName: "layer"), [3, 7]),
            _ => LayerThenBatchNorm(kind, 5, (g, x) => g.AddNode("MatMul", [x, g.AddConstant("w", Compare.RandomTensor(8, -1, 1, 7, 5))], moduleName: "layer"), [3, 7]),
        };
        graph.Info.OnnxOpset = 13;
        graph.Validate();
        var result = new FoldBatchNorm().Run(graph);
        Assert.Single(result.Report.Folded);
        Assert.Empty(result.Graph.NodesOfType("BatchNormalization"));
        var input = Compare.RandomTensor(9, -2, 2, graph.Inputs[0].ConcreteShape());
        Invariance.AssertPreserved(graph, result.Graph, input);
    }

    [Fact]
    public void BatchNormThatCannotBeFoldedStaysAndIsReported()
    {
        var g = new Graph();
        var x = g.AddInput("x", ElementType.Float, [1, 2, 4, 4]);
        var conv = g.AddNode("Conv", [x, g.AddConstant("w", Compare.RandomTensor(1, -1, 1, 2, 2, 1, 1))], moduleName: "conv");
        var add = g.AddNode("Add", [conv.Output, x], moduleName: "add");
        Value Vec(string n, float v) => g.AddConstant(n, Tensor.FromFloats([v, v], 2));
        var bnAfterAdd = g.AddNode("BatchNormalization", [add.Output, Vec("g1", 1), Vec("b1", 0), Vec("m1", 0), Vec("v1", 1)], moduleName: "bn_after_add");
        var conv2 = g.AddNode("Conv", [bnAfterAdd.Output, g.AddConstant("w2", Compare.RandomTensor(2, -1, 1, 2, 2, 1, 1))], moduleName: "conv2");
        var bnShared = g.AddNode("BatchNormalization", [conv2.Output, Vec("g2", 1), Vec("b2", 0), Vec("m2", 0), Vec("v2", 1)], moduleName: "bn_shared");
        var sum = g.AddNode("Add", [bnShared.Output, conv2.Output], moduleName: "sum");
        g.AddOutput(sum.Output);
        var report = new FoldBatchNorm().Run(g).Report;
        Assert.Empty(report.Folded);
        Assert.Contains(report.Skipped, s => s.BatchNorm == "bn_after_add" && s.Reason.Contains("follows Add 'add'"));
        Assert.Contains(report.Skipped, s => s.BatchNorm == "bn_shared" && s.Reason.Contains("also read elsewhere"));
    }

    [Fact]
    public void InputGraphIsNotModified()
    {
        var graph = TestModels.ResNet18();
        var weight = graph.FindNode("stem.conv1")!.ConstantInput(1)!.ToArray<float>();
        _ = graph.FoldBatchNorm();
        Assert.Equal(weight, graph.FindNode("stem.conv1")!.ConstantInput(1)!.ToArray<float>());
        Assert.Equal(22, graph.NodesOfType("BatchNormalization").Count());
    }
}
