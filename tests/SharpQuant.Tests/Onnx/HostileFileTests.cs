using SharpQuant.Cli;
using SharpQuant.Onnx;
using SharpQuant.Tests.Cli;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Onnx;

/// <summary>
/// Files a model load must not trust: special files that would block, links that lead out of the model's folder,
/// locations that are no file name. Each is one clear error, and nothing is read from outside.
/// </summary>
public class HostileFileTests
{
    [SkippableFact]
    public void ModelPathThatIsAFifoIsRefusedWithoutBlocking()
    {
        SpecialFiles.RequirePosix();
        using var temp = TestData.NewTempFolder();
        var fifo = SpecialFiles.Fifo(temp.File("model.onnx"));

        var e = NoHang.Throws<InvalidModelException>(() => OnnxModel.Load(fifo));
        Assert.Equal($"model file '{fifo}' is a FIFO (named pipe), not a regular file", e.Message);

        var (code, _, stderr) = NoHang.Run(() => InspectCommandTests.Run("inspect", fifo));
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Equal($"error: model file '{fifo}' is a FIFO (named pipe), not a regular file", stderr.Trim());
    }

    [SkippableFact]
    public void ExternalDataFileThatIsAFifoIsRefusedWithoutBlocking()
    {
        SpecialFiles.RequirePosix();
        using var temp = TestData.NewTempFolder();
        var model = ExternalDataModels.Write(temp.File("model.onnx"), "weights.bin", dataPath: null);
        SpecialFiles.Fifo(temp.File("weights.bin"));

        var e = NoHang.Throws<ExternalDataException>(() => OnnxModel.Load(model));
        Assert.Equal("tensor 'c' needs external data file 'weights.bin', which is a FIFO (named pipe), not a regular file", e.Message);
    }
}
