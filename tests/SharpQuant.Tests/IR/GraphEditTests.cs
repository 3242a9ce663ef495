using SharpQuant.Onnx;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.IR;

public class GraphEditTests
{
    private static Graph Chain()
    {
        var g = new Graph();
        var x = g.AddInput("x", ElementType.Float, [Dim.Named("N"), 4]);
        var c = g.AddConstant("c", Tensor.FromFloats([1, 2, 3, 4], 4));
        var add = g.AddNode("Add", [x, c], moduleName: "add");
        var relu = g.AddNode("Relu", [add.Output], moduleName: "relu");
        g.AddOutput(relu.Output);
        return g;
    }

    [Fact]
    public void AddNodeRecordsProducerAndUses()
    {
        var g = Chain();
        var add = g.FindNode("add")!;
        var relu = g.FindNode("relu")!;
        Assert.Same(add, add.Output.Producer);
        Assert.Equal([new Use(relu, 0)], add.Output.Uses);
        Assert.Equal([new Use(add, 0)], g.GetValue("x").Uses);
        g.Validate();
    }

    [Fact]
    public void ReplaceAllUsesWithMovesEveryUseAndGraphOutputs()
    {
        var g = Chain();
        var add = g.FindNode("add")!;
        var relu = g.FindNode("relu")!;
        var outputName = relu.Output.Name;
        g.ReplaceAllUsesWith(relu.Output, add.Output);
        Assert.Same(add.Output, g.Outputs[0]);
        // The graph output keeps its public name.
        Assert.Equal(outputName, g.Outputs[0].Name);
        g.RemoveNode(relu);
        Assert.Empty(add.Output.Uses);
        Assert.DoesNotContain(relu, g.Nodes);
        g.Validate();
    }

    [Fact]
    public void RemoveNodeRefusesWhileOutputsAreUsed()
    {
        var g = Chain();
        var e = Assert.Throws<InvalidOperationException>(() => g.RemoveNode(g.FindNode("add")!));
        Assert.Contains("still used", e.Message);
    }

    [Fact]
    public void InsertAfterKeepsTopologicalOrder()
    {
        var g = Chain();
        var add = g.FindNode("add")!;
        var relu = g.FindNode("relu")!;
        var neg = g.AddNode("Neg", [add.Output], moduleName: "neg", after: add);
        relu.SetInput(0, neg.Output);
        Assert.Equal(["add", "neg", "relu"], g.Nodes.Select(n => n.ModuleName));
        Assert.Equal([new Use(neg, 0)], add.Output.Uses);
        g.Validate();
    }

    [Fact]
    public void ValidateFindsOutOfOrderNodesAndSortFixesThem()
    {
        var g = Chain();
        var add = g.FindNode("add")!;
        var relu = g.FindNode("relu")!;
        g.MoveAfter(add, relu);
        var e = Assert.Throws<GraphValidationException>(g.Validate);
        Assert.Contains("comes later", e.Message);
        g.SortTopologically();
        g.Validate();
        Assert.Equal(["add", "relu"], g.Nodes.Select(n => n.ModuleName));
    }

    [Fact]
    public void CloneIsDeepAndIndependent()
    {
        var g = Chain();
        var copy = g.Clone();
        copy.GetValue("c").ConstantValue!.Floats[0] = 100f;
        copy.RemoveNode(copy.FindNode("relu") is { } r ? RemoveOutputFirst(copy, r) : throw new InvalidOperationException());
        Assert.Equal(1f, g.GetValue("c").ConstantValue!.Floats[0]);
        Assert.Equal(2, g.Nodes.Count);
        Assert.Single(copy.Nodes);
        g.Validate();
        copy.Validate();
    }

    private static Node RemoveOutputFirst(Graph g, Node relu)
    {
        g.ReplaceAllUsesWith(relu.Output, relu.Input(0));
        return relu;
    }

    [Fact]
    public void EditsBumpTheVersion()
    {
        var g = Chain();
        var v = g.Version;
        g.FindNode("relu")!.SetAttribute("unused", AttributeValue.Of(1L));
        Assert.True(g.Version > v);
    }

    [Fact]
    public void RemoveUnusedDropsDeadNodesAndConstants()
    {
        var g = Chain();
        var dead = g.AddConstant("dead", Tensor.Scalar(1f));
        g.AddNode("Neg", [dead], moduleName: "unused");
        Assert.Equal(2, g.RemoveUnused());
        Assert.Null(g.FindValue("dead"));
        Assert.Equal(2, g.Nodes.Count);
    }

    [Fact]
    public void TensorViewsAreTypedAndShapeChecked()
    {
        var t = Tensor.FromFloats([1, 2, 3, 4, 5, 6], 2, 3);
        Assert.Equal(6, t.ElementCount);
        Assert.Equal(24, t.ByteCount);
        Assert.Throws<InvalidOperationException>(() => t.AsSpan<int>());
        Assert.Throws<ArgumentException>(() => new Tensor(ElementType.Float, [2, 2], new byte[12]));
        Assert.Equal([3L, 2L], t.Reshape(3, 2).Shape);
    }

    [Fact]
    public void ResNet18ImportsWithShapesAndValidates()
    {
        var g = OnnxModel.Load(TestModels.ResNet18Path);
        g.Validate();
        Assert.Equal(74, g.Nodes.Count);
        Assert.Equal([1L, 3, 224, 224], g.Inputs[0].ConcreteShape());
        Assert.Equal([1L, 512, 1, 1], g.Outputs[0].ConcreteShape());
        g.MakeBatchDynamic();
        Assert.Equal("N", g.Inputs[0].Shape![0].Symbol);
        var conv = g.FindNode("stage1.block0.conv1")!;
        Assert.Equal("Convolution257", conv.Name);
        Assert.Equal([64L, 64, 3, 3], conv.ConstantInput(1)!.Shape);
    }
}
