using SharpQuant.Onnx;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.IR;

public class ModuleNamerTests
{
    [Theory]
    [InlineData("/layer2/layer2.0/conv1/Conv", "layer2.0.conv1")]
    [InlineData("/conv1/Conv", "conv1")]
    [InlineData("/layer1/layer1.0/downsample/downsample.0/Conv", "layer1.0.downsample.0")]
    [InlineData("/features/features.3/block/block.0/block.0.0/Conv", "features.3.block.0.0")]
    [InlineData("/Add", "")]
    public void TorchScopesBecomeDottedPaths(string nodeName, string expected) =>
        Assert.Equal(expected, ModuleNamer.TorchModulePath(nodeName));

    [Fact]
    public void TorchNamedGraphGetsModuleAndFunctionNames()
    {
        var g = new Graph();
        var x = g.AddInput("x", ElementType.Float, [1, 2, 4, 4]);
        var w = g.AddConstant("layer1.0.conv1.weight", Tensor.Zeros(ElementType.Float, 2, 2, 1, 1));
        var conv = g.AddNode("Conv", [x, w], moduleName: "/layer1/layer1.0/conv1/Conv");
        conv.Name = "/layer1/layer1.0/conv1/Conv";
        var add = g.AddNode("Add", [conv.Output, x]);
        add.Name = "/layer1/layer1.0/Add";
        var relu = g.AddNode("Relu", [add.Output]);
        relu.Name = "/layer1/layer1.0/relu/Relu";
        ModuleNamer.Assign(g);
        Assert.Equal(["layer1.0.conv1", "layer1.0.add", "layer1.0.relu"], g.Nodes.Select(n => n.ModuleName));
    }

    [Fact]
    public void OpaqueResNet18NamesComeFromStructure()
    {
        var g = TestModels.ResNet18();
        var convs = g.NodesOfType("Conv").Select(n => n.ModuleName).ToList();
        Assert.Equal("stem.conv1", convs[0]);
        Assert.Contains("stage1.block0.conv1", convs);
        Assert.Contains("stage1.block1.conv2", convs);
        Assert.Contains("stage2.block0.conv1", convs);
        Assert.Contains("stage2.block0.downsample.conv1", convs);
        Assert.Contains("stage4.block2.conv2", convs);
        Assert.Equal(convs.Count, convs.Distinct().Count());
        Assert.Equal("head.avgpool1", g.Nodes[^1].ModuleName);
        Assert.All(g.Nodes, n => Assert.DoesNotMatch("^(Convolution|Plus|ReLU|BatchNormalization|Pooling)\\d+$", n.ModuleName));
    }

    [SkippableFact]
    public void PaddleNamesComeFromWeights()
    {
        var g = TestModels.Ppocr();
        var convs = g.NodesOfType("Conv").Select(n => n.ModuleName).ToList();
        Assert.Equal("conv2d_0", convs[0]);
        Assert.Equal("batch_norm_0", g.NodesOfType("BatchNormalization").First().ModuleName);
        Assert.Equal(g.Nodes.Count, g.Nodes.Select(n => n.ModuleName).Distinct().Count());
    }
}
