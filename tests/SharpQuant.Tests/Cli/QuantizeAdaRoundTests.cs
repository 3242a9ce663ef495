using SharpQuant.IO;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Cli;

public class QuantizeAdaRoundTests
{
    [Fact]
    public void AdaRoundRunsPerLayerAfterCalibrationAndReportsTheLosses()
    {
        using var temp = TestData.NewTempFolder();
        var model = InputModels.Save(InputModels.Nchw(3, 24), temp.File("small.onnx"));
        var tensors = Directory.CreateDirectory(temp.File("tensors")).FullName;
        for (var i = 0; i < 4; i++)
        {
            NpyFile.Write(Path.Combine(tensors, $"sample{i}.npy"), Compare.RandomTensor(30 + i, -1f, 1f, 3, 24, 24));
        }
        var output = temp.File("small-w4.onnx");
        var (code, stdout, stderr) = InspectCommandTests.Run("quantize", model, "--inputs", tensors, "-o", output, "--wbits", "4",
            "--bias-correction", "none", "--adaround", "--adaround-iterations", "20", "--batch", "2");
        Assert.True(code == 0, stderr);
        Assert.Contains("AdaRound 1/2 ", stdout);
        Assert.Contains("AdaRound 2/2 ", stdout);
        Assert.Contains("AdaRound: 2 layers in", stdout);
        Assert.True(File.Exists(output));
    }

    [Fact]
    public void AdaRoundWithoutDataIsAUsageError()
    {
        using var temp = TestData.NewTempFolder();
        var model = InputModels.Save(InputModels.Nchw(3, 24), temp.File("small.onnx"));
        var (code, _, stderr) = InspectCommandTests.Run("quantize", model, "--data-free", "-o", temp.File("out.onnx"), "--adaround");
        Assert.NotEqual(0, code);
        Assert.Contains("--adaround needs --images or --inputs", stderr);
    }
}
