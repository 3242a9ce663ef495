using SharpQuant.Cli;
using SharpQuant.IO;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Cli;

/// <summary>
/// Outputs that are not plain new files: devices are written as they are and never replaced, other special files
/// are refused, and a path that names no file is a usage error. A failed command leaves nothing behind.
/// </summary>
public class OutputFileTests
{
    private static string SmallModel(TempFolder temp, string name = "m.onnx")
    {
        var path = temp.File(name);
        File.WriteAllBytes(path, ProtoModels.AddRelu().Bytes());
        return path;
    }

    private static string OneLine(string stderr) => Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));

    [SkippableFact]
    public void FoldWritesIntoDevNullWithoutReplacingIt()
    {
        SpecialFiles.RequirePosix();
        using var temp = TestData.NewTempFolder();
        var before = FileStat.Of("/dev/null")!;
        var (code, stdout, stderr) = InspectCommandTests.Run("fold", SmallModel(temp), "-o", "/dev/null");
        Assert.True(code == ExitCodes.Ok, stderr);
        Assert.Contains("wrote /dev/null", stdout);
        var after = FileStat.Of("/dev/null")!;
        Assert.Equal(FileKind.CharacterDevice, after.Kind);
        Assert.True(before.IsSameFileAs(after));
        Assert.Empty(Directory.EnumerateFiles("/dev", ".null.*"));
    }

    [SkippableFact]
    public void AFifoAsOutputIsRefusedAndStaysAFifo()
    {
        SpecialFiles.RequirePosix();
        using var temp = TestData.NewTempFolder();
        var fifo = SpecialFiles.Fifo(temp.File("out.onnx"));
        var (code, _, stderr) = NoHang.Run(() => InspectCommandTests.Run("fold", SmallModel(temp), "-o", fifo));
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Equal($"error: the output '{fifo}' is a FIFO (named pipe); SharpQuant writes only regular files and character devices such as /dev/null", OneLine(stderr));
        Assert.Equal(FileKind.Fifo, FileStat.Of(fifo)!.Kind);
        Assert.Equal(["m.onnx", "out.onnx"], Directory.EnumerateFileSystemEntries(temp.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("", "error: the output path is empty; give a file name")]
    [InlineData(" ", "error: the output path is empty; give a file name")]
    [InlineData("new/", "error: the output 'new/' ends in a folder separator; give a file name")]
    [InlineData("new/deeper/", "error: the output 'new/deeper/' ends in a folder separator; give a file name")]
    public void AnOutputThatNamesNoFileIsAUsageErrorAndCreatesNothing(string output, string expected)
    {
        using var temp = TestData.NewTempFolder();
        var model = SmallModel(temp);
        var given = output.Trim().Length == 0 ? output : Path.Combine(temp.Path, output);
        var (code, _, stderr) = InspectCommandTests.Run("fold", model, "-o", given);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal(expected.Replace("'new", $"'{temp.Path}{Path.DirectorySeparatorChar}new", StringComparison.Ordinal), OneLine(stderr));
        Assert.Equal(["m.onnx"], Directory.EnumerateFileSystemEntries(temp.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void AFailedWriteRemovesTheFoldersItCreated()
    {
        using var temp = TestData.NewTempFolder();
        var output = Path.Combine(temp.Path, "new", "deeper", "out.bin");
        Assert.Throws<IOException>(() => AtomicFile.Write(output, _ => throw new IOException("disk full")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(temp.Path));

        // A folder that existed before stays, with what it held.
        Directory.CreateDirectory(temp.File("kept"));
        File.WriteAllText(temp.File("kept/other.txt"), "x");
        Assert.Throws<IOException>(() => AtomicFile.Write(temp.File("kept/sub/out.bin"), _ => throw new IOException("disk full")));
        Assert.Equal(["other.txt"], Directory.EnumerateFileSystemEntries(temp.File("kept")).Select(Path.GetFileName));

        AtomicFile.WriteAllText(output, "written");
        Assert.Equal("written", File.ReadAllText(output));
    }

    [Fact]
    public void TheWritabilityProbeLeavesNoFolderBehind()
    {
        using var temp = TestData.NewTempFolder();
        OutputPath.CheckWritable(Path.Combine(temp.Path, "new", "report.html"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(temp.Path));
    }

    [SkippableFact]
    public void DevicesAndProcessStreamsAreWrittenInPlace()
    {
        SpecialFiles.RequirePosix();
        Assert.True(OutputTarget.For("/dev/null").WriteInPlace);
        Assert.True(OutputTarget.For("/dev/stdout").WriteInPlace);
        Assert.True(OutputTarget.For("/dev/fd/1").WriteInPlace);
        AtomicFile.WriteAllText("/dev/null", "discarded");
        Assert.Equal(FileKind.CharacterDevice, FileStat.Of("/dev/null")!.Kind);

        using var temp = TestData.NewTempFolder();
        Assert.False(OutputTarget.For(temp.File("new.onnx")).WriteInPlace);
        var fifo = SpecialFiles.Fifo(temp.File("pipe"));
        var e = NoHang.Throws<SharpQuantException>(() => AtomicFile.WriteAllText(fifo, "never"));
        Assert.Contains("is a FIFO (named pipe)", e.Message);
        Assert.Contains("is a folder", Assert.Throws<SharpQuantException>(() => OutputTarget.For(temp.Path)).Message);
    }
}
