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

    [SkippableFact]
    public void ExternalDataThroughALinkedFolderIsRefusedAndNothingIsWritten()
    {
        SpecialFiles.RequirePosix();
        using var temp = TestData.NewTempFolder();
        var secret = Directory.CreateDirectory(temp.File("etc")).FullName;
        File.WriteAllBytes(Path.Combine(secret, "passwd"), new byte[16]);
        var inner = Directory.CreateDirectory(temp.File("model")).FullName;
        // As sub -> /etc: the link is on the folder, not on the file, and its target is relative.
        Directory.CreateSymbolicLink(Path.Combine(inner, "sub"), "../etc");
        var model = ExternalDataModels.Write(Path.Combine(inner, "model.onnx"), "sub/passwd", dataPath: null);

        var e = Assert.Throws<ExternalDataException>(() => OnnxModel.Load(model));
        Assert.Equal("tensor 'c' points to external data 'sub/passwd', which leads outside the model folder through a link: external data path escapes the model's folder", e.Message);

        var output = Path.Combine(inner, "folded.onnx");
        var (code, _, stderr) = InspectCommandTests.Run("fold", model, "-o", output);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Equal($"error: {e.Message}", stderr.Trim());
        Assert.False(File.Exists(output));
        Assert.Equal(["model.onnx", "sub"], Directory.EnumerateFileSystemEntries(inner).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [SkippableFact]
    public void DotDotAfterALinkedFolderClimbsFromTheLinksTarget()
    {
        SpecialFiles.RequirePosix();
        using var temp = TestData.NewTempFolder();
        var deep = Directory.CreateDirectory(temp.File("outside/deep")).FullName;
        File.WriteAllBytes(temp.File("outside/weights.bin"), new byte[16]);
        var inner = Directory.CreateDirectory(temp.File("model")).FullName;
        Directory.CreateSymbolicLink(Path.Combine(inner, "sub"), deep);
        // Read by name, "sub/../weights.bin" is model/weights.bin; the kernel reads outside/weights.bin.
        var model = ExternalDataModels.Write(Path.Combine(inner, "model.onnx"), "sub/../weights.bin", Path.Combine(inner, "weights.bin"));

        var e = Assert.Throws<ExternalDataException>(() => OnnxModel.Load(model));
        Assert.Contains("external data path escapes the model's folder", e.Message);
    }

    [SkippableFact]
    public void LinksThatStayInsideTheRealFolderAreFollowed()
    {
        SpecialFiles.RequirePosix();
        using var temp = TestData.NewTempFolder();
        var real = Directory.CreateDirectory(temp.File("real")).FullName;
        Directory.CreateDirectory(Path.Combine(real, "data"));
        // The model is reached through a linked folder, and its data through a link inside that folder.
        Directory.CreateSymbolicLink(temp.File("via-link"), real);
        Directory.CreateSymbolicLink(Path.Combine(real, "weights"), "data");
        ExternalDataModels.Write(Path.Combine(real, "model.onnx"), "weights/c.bin", Path.Combine(real, "data", "c.bin"));

        var graph = OnnxModel.Load(Path.Combine(temp.File("via-link"), "model.onnx"));
        Assert.Equal(ExternalDataModels.Constant, graph.GetValue("c").ConstantValue!.ToArray<float>());
    }

    [SkippableFact]
    public void LinkLoopIsRefused()
    {
        SpecialFiles.RequirePosix();
        using var temp = TestData.NewTempFolder();
        File.CreateSymbolicLink(temp.File("a"), "b");
        File.CreateSymbolicLink(temp.File("b"), "a");
        var model = ExternalDataModels.Write(temp.File("model.onnx"), "a/c.bin", dataPath: null);
        var e = Assert.Throws<ExternalDataException>(() => OnnxModel.Load(model));
        Assert.Contains("'a/c.bin', whose links cannot be followed: more than 40 symbolic links", e.Message);
    }

    [Fact]
    public void NulByteInAnExternalDataLocationIsOneClearError()
    {
        using var temp = TestData.NewTempFolder();
        var model = ExternalDataModels.Write(temp.File("model.onnx"), "weights\0.bin", dataPath: null);
        const string Message = "tensor 'c' has the external-data location 'weights\\0.bin', which contains a NUL byte that no file name can hold";
        Assert.Equal(Message, Assert.Throws<ExternalDataException>(() => OnnxModel.Load(model)).Message);

        var (code, _, stderr) = InspectCommandTests.Run("inspect", model);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Equal($"error: {Message}", stderr.Trim());
    }
}
