using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.IR;

/// <summary>Module names for tf2onnx-style node names: Keras layers from scope paths, structure where names are generated.</summary>
public class TfNamesTests
{
    [Theory]
    [InlineData("StatefulPartitionedCall/functional_1/conv2d_1/BiasAdd", "conv2d_1")]
    [InlineData("model/conv2d_3/Conv2D", "conv2d_3")]
    [InlineData("StatefulPartitionedCall/model/conv2d/Conv2D__6", "conv2d")]
    [InlineData("sequential/dense/MatMul", "dense")]
    [InlineData("StatefulPartitionedCall/Relu", null)]
    public void ScopePathsNameTheirKerasLayer(string nodeName, string? expected) =>
        Assert.Equal(expected, TfScopeNames.LayerOf(nodeName));

    [Theory]
    [InlineData("StatefulPartitionedCall/model/conv2d_2/Conv2D/ReadVariableOp:0", "conv2d_2")]
    [InlineData("model/dense/kernel", "dense")]
    [InlineData("const_fold_opt__245", null)]
    public void WeightScopePathsNameTheirKerasLayer(string weightName, string? expected) =>
        Assert.Equal(expected, TfScopeNames.LayerOfWeight(weightName));

    private static Node Add(Graph g, string op, string name, params Value[] inputs)
    {
        var node = g.AddNode(op, inputs, moduleName: name);
        node.Name = name;
        return node;
    }

    private static Value Weight(Graph g, string name, params long[] shape) => g.AddConstant(name, Compare.RandomTensor(1, -1, 1, shape));

    [Fact]
    public void Tf2OnnxScopeNamesBecomeKerasLayerNames()
    {
        var g = new Graph();
        var x = g.AddInput("input_1", ElementType.Float, [1, 3, 8, 8]);
        var conv = Add(g, "Conv", "StatefulPartitionedCall/functional_1/conv2d/BiasAdd", x, Weight(g, "StatefulPartitionedCall/functional_1/conv2d/Conv2D/ReadVariableOp:0", 4, 3, 1, 1));
        var relu = Add(g, "Relu", "StatefulPartitionedCall/functional_1/conv2d/Relu", conv.Output);
        var conv1 = Add(g, "Conv", "StatefulPartitionedCall/functional_1/conv2d_1/BiasAdd", relu.Output, Weight(g, "const_fold_opt__17", 4, 4, 1, 1));
        var transpose = Add(g, "Transpose", "Transpose__12", conv1.Output);
        var generated = Add(g, "Conv", "Conv__222", transpose.Output, Weight(g, "const_fold_opt__18", 4, 4, 1, 1));
        var fromWeight = Add(g, "Conv", "Conv__223", generated.Output, Weight(g, "StatefulPartitionedCall/functional_1/conv2d_2/Conv2D/ReadVariableOp:0", 4, 4, 1, 1));
        var bn = Add(g, "BatchNormalization", "StatefulPartitionedCall/functional_1/batch_normalization/FusedBatchNormV3", fromWeight.Output);
        var flatten = Add(g, "Flatten", "StatefulPartitionedCall/functional_1/flatten/Reshape", bn.Output);
        var matmul = Add(g, "MatMul", "StatefulPartitionedCall/functional_1/dense/MatMul", flatten.Output, Weight(g, "dense_kernel", 256, 10));
        var bias = Add(g, "Add", "StatefulPartitionedCall/functional_1/dense/BiasAdd", matmul.Output, Weight(g, "dense_bias", 10));
        g.AddOutput(bias.Output);
        ModuleNamer.Assign(g);
        Assert.Equal(
            ["conv2d", "conv2d.relu", "conv2d_1", "conv2d_1.transpose", "conv2d_1.conv", "conv2d_2", "batch_normalization", "flatten", "dense", "dense.add"],
            g.Nodes.Select(n => n.ModuleName));
        // The file's names stay on the nodes.
        Assert.Equal("Conv__222", generated.Name);
        Assert.Same(conv1, g.FindNode("conv2d_1"));
    }

    [Fact]
    public void PurelyGeneratedTf2OnnxNamesGetStructuralNames()
    {
        // stem conv → relu, then a residual block (conv → relu → conv, + identity) → relu, then a global pool.
        var g = new Graph();
        var x = g.AddInput("input", ElementType.Float, [1, 3, 8, 8]);
        var stem = Add(g, "Conv", "Conv__101", x, Weight(g, "const_fold_opt__1", 8, 3, 3, 3));
        var stemRelu = Add(g, "Relu", "Relu__102", stem.Output);
        var conv1 = Add(g, "Conv", "Conv__103", stemRelu.Output, Weight(g, "const_fold_opt__2", 8, 8, 3, 3));
        var relu1 = Add(g, "Relu", "Relu__104", conv1.Output);
        var conv2 = Add(g, "Conv", "Conv__105", relu1.Output, Weight(g, "const_fold_opt__3", 8, 8, 3, 3));
        var sum = Add(g, "Add", "Add__106", conv2.Output, stemRelu.Output);
        var relu2 = Add(g, "Relu", "Relu__107", sum.Output);
        var pool = Add(g, "GlobalAveragePool", "GlobalAveragePool__108", relu2.Output);
        g.AddOutput(pool.Output);
        ModuleNamer.Assign(g);
        Assert.Equal(
            ["stem.conv1", "stem.relu1", "stage1.block0.conv1", "stage1.block0.relu1", "stage1.block0.conv2", "stage1.block0.add", "stage1.block0.relu2", "head.gap1"],
            g.Nodes.Select(n => n.ModuleName));
    }
}
