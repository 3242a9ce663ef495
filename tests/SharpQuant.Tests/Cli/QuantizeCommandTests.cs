using SharpQuant.Cli;
using SharpQuant.Data;
using SharpQuant.Quantization;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Cli;

public class QuantizeCommandTests
{
    private static TempFolder FolderWithImages(int count, bool withBroken)
    {
        TestData.RequireSharedData();
        var temp = TestData.NewTempFolder();
        var images = Directory.CreateDirectory(Path.Combine(temp.Path, "images")).FullName;
        foreach (var file in ImageFiles.List(TestData.ImagesFolder).Take(count))
        {
            File.Copy(file, Path.Combine(images, Path.GetFileName(file)));
        }
        if (withBroken)
        {
            File.WriteAllText(Path.Combine(images, "broken.jpg"), "not a jpeg");
        }
        return temp;
    }

    [SkippableFact]
    public void QuantizesTheDefaultModelToAFourTimesSmallerInt8File()
    {
        using var temp = FolderWithImages(2, withBroken: true);
        var output = temp.File("r18-int8.onnx");
        var (code, stdout, stderr) = InspectCommandTests.Run("quantize", "--images", Path.Combine(temp.Path, "images"), "-o", output, "--observer", "minmax", "--print-qparams", "--batch", "2");
        Assert.True(code == 0, stderr);
        Assert.Contains("warning: skipped", stderr);
        Assert.Contains("broken.jpg", stderr);
        Assert.Contains("int8 QDQ model: 22 weights", stdout);
        var format = IntegerFormat.ForThisCpu();
        Assert.Contains($"integer format {format.Name}: {format.Reason}", stdout);
        // With images, empirical bias correction is the default: every conv with a weight quantizer is corrected.
        Assert.Contains("empirical bias correction: 22 layers corrected, 0 skipped", stdout);
        Assert.Contains("stage2.block0.conv1.weight_fake_quant scale (128 channels, axis 0)", stdout);
        var graph = SharpQuant.Onnx.OnnxModel.Load(output);
        // The export records the format and the processor features it was chosen for.
        Assert.Equal(format.Name, graph.Info.MetadataProps[IntegerFormat.FormatMetadataKey]);
        Assert.Equal(CpuFeatures.Detect().Describe(), graph.Info.MetadataProps[IntegerFormat.CpuMetadataKey]);
        Assert.Equal(22, graph.NodesOfType("Conv").Count());
        Assert.Contains(graph.Nodes, n => n.OpType == "QuantizeLinear");
        Assert.InRange(new FileInfo(TestModels.ResNet18Path).Length / (double)new FileInfo(output).Length, 3.8, 4.1);
    }

    [SkippableFact]
    public void BiasCorrectionCanBeLeftOut()
    {
        using var temp = FolderWithImages(1, withBroken: false);
        var output = temp.File("r18-int8.onnx");
        var (code, stdout, stderr) = InspectCommandTests.Run("quantize", "--images", Path.Combine(temp.Path, "images"), "-o", output, "--observer", "minmax", "--bias-correction", "none");
        Assert.True(code == 0, stderr);
        Assert.DoesNotContain("bias correction", stdout);
        Assert.True(File.Exists(output));
    }

    [SkippableFact]
    public void LowBitWidthsWriteTheLoweredSimulation()
    {
        using var temp = FolderWithImages(1, withBroken: false);
        var output = temp.File("w4a8.onnx");
        var (code, stdout, stderr) = InspectCommandTests.Run("quantize", "--images", Path.Combine(temp.Path, "images"), "-o", output, "--observer", "minmax", "--wbits", "4", "--abits", "6");
        Assert.True(code == 0, stderr);
        Assert.Contains("w4a6 has no int8 ONNX form", stdout);
        var graph = SharpQuant.Onnx.OnnxModel.Load(output);
        Assert.Contains(graph.Nodes, n => n.OpType == "Round");
    }

    [Fact]
    public void EmptyOrMissingImageFolderIsBadInput()
    {
        using var temp = TestData.NewTempFolder();
        var (code, _, stderr) = InspectCommandTests.Run("quantize", "--images", temp.Path, "-o", temp.File("out.onnx"));
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("holds no JPEG, PNG, BMP or WebP files", stderr);
        (code, _, stderr) = InspectCommandTests.Run("quantize", "--images", temp.File("nope"), "-o", temp.File("out.onnx"));
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("does not exist", stderr);
        Assert.Empty(Directory.GetFiles(temp.Path));
    }

    [Fact]
    public void FolderOfUndecodableImagesIsBadInput()
    {
        using var temp = TestData.NewTempFolder();
        File.WriteAllText(temp.File("a.png"), "no");
        File.WriteAllText(temp.File("b.jpg"), "no");
        var (code, _, stderr) = InspectCommandTests.Run("quantize", "--images", temp.Path, "-o", temp.File("out.onnx"), "--observer", "minmax");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("none of the 2 image files could be decoded", stderr);
        Assert.False(File.Exists(temp.File("out.onnx")));
    }
}
