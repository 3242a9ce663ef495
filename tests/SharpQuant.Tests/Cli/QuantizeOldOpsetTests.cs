using Microsoft.ML.OnnxRuntime;
using SharpQuant.Data;
using SharpQuant.Onnx;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Cli;

/// <summary>`quantize` on models below opset 13: the opset is raised on the way, and the int8 model runs in ONNX Runtime.</summary>
public class QuantizeOldOpsetTests
{
    /// <summary>Conv → BatchNormalization → Relu → Resize (×2, opset-11 form with an empty roi) → Conv on a 3×224×224 input.</summary>
    internal static Graph ConvResizeConv(long opset, string mode, params (string Name, string Value)[] resizeAttributes)
    {
        var g = new Graph();
        g.Info.OnnxOpset = opset;
        var x = g.AddInput("image", ElementType.Float, [Dim.Named("N"), Dim.Of(3), Dim.Of(224), Dim.Of(224)]);
        var conv1 = g.AddNode("Conv", [x, g.AddConstant("conv1.weight", Compare.RandomTensor(1, -0.3f, 0.3f, 8, 3, 3, 3)), g.AddConstant("conv1.bias", Compare.RandomTensor(2, -0.1f, 0.1f, 8))], moduleName: "conv1",
            attributes: new Dictionary<string, AttributeValue> { ["strides"] = AttributeValue.Of(new long[] { 2, 2 }), ["pads"] = AttributeValue.Of(new long[] { 1, 1, 1, 1 }) });
        var bn = g.AddNode("BatchNormalization", [conv1.Output, g.AddConstant("bn1.gamma", Compare.RandomTensor(3, 0.5f, 1.5f, 8)), g.AddConstant("bn1.beta", Compare.RandomTensor(4, -0.5f, 0.5f, 8)),
            g.AddConstant("bn1.mean", Compare.RandomTensor(5, -1f, 1f, 8)), g.AddConstant("bn1.var", Compare.RandomTensor(6, 0.5f, 2f, 8))], moduleName: "bn1");
        var relu = g.AddNode("Relu", [bn.Output], moduleName: "relu1");
        Node resize = opset >= 11
            ? g.AddNode("Resize", [relu.Output, g.AddConstant("roi", Tensor.FromFloats([], 0)), g.AddConstant("scales", Tensor.FromFloats([1, 1, 2, 2], 4))], moduleName: "up",
                attributes: resizeAttributes.Append(("mode", mode)).ToDictionary(a => a.Item1, a => AttributeValue.Of(a.Item2)))
            : g.AddNode("Upsample", [relu.Output, g.AddConstant("scales", Tensor.FromFloats([1, 1, 2, 2], 4))], moduleName: "up",
                attributes: new Dictionary<string, AttributeValue> { ["mode"] = AttributeValue.Of(mode) });
        var conv2 = g.AddNode("Conv", [resize.Output, g.AddConstant("conv2.weight", Compare.RandomTensor(7, -0.3f, 0.3f, 4, 8, 3, 3)), g.AddConstant("conv2.bias", Compare.RandomTensor(8, -0.1f, 0.1f, 4))], moduleName: "conv2",
            attributes: new Dictionary<string, AttributeValue> { ["pads"] = AttributeValue.Of(new long[] { 1, 1, 1, 1 }) });
        foreach (var node in g.Nodes)
        {
            node.Output.ElementType = ElementType.Float;
        }
        conv2.Output.Shape = [Dim.Named("N"), Dim.Of(4), Dim.Of(224), Dim.Of(224)];
        g.AddOutput(conv2.Output);
        g.Validate();
        return g;
    }

    /// <summary>Runs the written int8 model in a plain ONNX Runtime session and returns its output for one random image.</summary>
    private static float[] RunInOnnxRuntime(string path)
    {
        using var session = new InferenceSession(path);
        var input = Compare.RandomTensor(9, -2f, 2f, 1, 3, 224, 224);
        using var value = OrtValue.CreateTensorValueFromMemory(input.ToArray<float>(), [1, 3, 224, 224]);
        using var outputs = session.Run(new RunOptions(), [session.InputNames[0]], [value], [session.OutputNames[0]]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    [Theory]
    [InlineData(11, "nearest")]
    [InlineData(11, "linear")]
    [InlineData(9, "nearest")]
    public void DataFreeQuantizeOfAnOldOpsetResizeModelWritesAnInt8ModelOnnxRuntimeRuns(long opset, string mode)
    {
        using var temp = TestData.NewTempFolder();
        var model = temp.File("up.onnx");
        OnnxModel.Save(ConvResizeConv(opset, mode), model);
        var output = temp.File("up-int8.onnx");
        var (code, stdout, stderr) = InspectCommandTests.Run("quantize", model, "--data-free", "-o", output);
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("int8 QDQ model: 2 weights", stdout);
        var written = OnnxModel.Load(output);
        Assert.Equal(13, written.Info.OnnxOpset);
        Assert.Equal(mode, Assert.Single(written.NodesOfType("Resize")).GetString("mode", ""));
        Assert.Empty(written.NodesOfType("Upsample"));
        Assert.Contains(written.Nodes, n => n.OpType == "QuantizeLinear");
        var result = RunInOnnxRuntime(output);
        Assert.Equal(4 * 224 * 224, result.Length);
        Assert.All(result, v => Assert.True(float.IsFinite(v)));
        Assert.Contains(result, v => v != 0f);
    }

    [SkippableFact]
    public void QuantizeCalibratedOnImagesOfAnOpset11ResizeModelWritesAnInt8ModelOnnxRuntimeRuns()
    {
        TestData.RequireSharedData();
        using var temp = TestData.NewTempFolder();
        var images = Directory.CreateDirectory(temp.File("images")).FullName;
        foreach (var file in ImageFiles.List(TestData.ImagesFolder).Take(2))
        {
            File.Copy(file, Path.Combine(images, Path.GetFileName(file)));
        }
        var model = temp.File("up.onnx");
        OnnxModel.Save(ConvResizeConv(11, "linear"), model);
        var output = temp.File("up-int8.onnx");
        var (code, stdout, stderr) = InspectCommandTests.Run("quantize", model, "--images", images, "--observer", "minmax", "--batch", "2", "-o", output);
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("int8 QDQ model: 2 weights", stdout);
        var result = RunInOnnxRuntime(output);
        Assert.Equal(4 * 224 * 224, result.Length);
        Assert.All(result, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void AResizeOpset13CannotExpressIsOneErrorLineNamingOpNodeAndWhy()
    {
        using var temp = TestData.NewTempFolder();
        var model = temp.File("up.onnx");
        OnnxModel.Save(ConvResizeConv(11, "nearest", ("coordinate_transformation_mode", "tf_half_pixel_for_nn"), ("nearest_mode", "ceil")), model);
        var output = temp.File("up-int8.onnx");
        var (code, _, stderr) = InspectCommandTests.Run("quantize", model, "--data-free", "-o", output);
        Assert.Equal(SharpQuant.Cli.ExitCodes.BadInput, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.DoesNotContain("   at ", stderr);
        Assert.StartsWith("error: cannot raise the opset from 11 to 13: coordinate_transformation_mode 'tf_half_pixel_for_nn' is gone at opset 13", line);
        Assert.EndsWith("unsupported op 'Resize' at node 'up'", line.TrimEnd());
        Assert.False(File.Exists(output));
    }
}
