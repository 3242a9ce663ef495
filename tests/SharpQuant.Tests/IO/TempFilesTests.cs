using System.Diagnostics;
using SharpQuant.Cli;
using SharpQuant.IO;
using SharpQuant.Tests.Cli;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.IO;

/// <summary>Temporaries of killed writes are removed by the next write beside them; those of running writers stay.</summary>
public class TempFilesTests
{
    private const string Guid32 = "0123456789abcdef0123456789abcdef";

    /// <summary>The id of a process that has exited (started and waited for), or an id above any kernel's limit.</summary>
    private static int DeadPid()
    {
        if (File.Exists("/bin/sh"))
        {
            using var process = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", "exit 0"]) { UseShellExecute = false })!;
            process.WaitForExit();
            return process.Id;
        }
        return 999_999_999;
    }

    [Fact]
    public void NamesSayTheToolAndTheWriter()
    {
        var temp = Path.GetFileName(TempFiles.For("/x/o.onnx"));
        Assert.StartsWith($".o.onnx.sharpquant-{Environment.ProcessId}-", temp);
        Assert.EndsWith(".tmp", temp);
        Assert.Equal(Environment.ProcessId, TempFiles.WriterOf(temp));
        Assert.Equal(4242, TempFiles.WriterOf($".o.onnx.4242.{Guid32}.tmp"));
        Assert.Null(TempFiles.WriterOf("o.onnx.sharpquant-12-" + Guid32 + ".tmp"));
        Assert.Null(TempFiles.WriterOf(".o.onnx.tmp"));
        Assert.Null(TempFiles.WriterOf($".o.onnx.sharpquant-x-{Guid32}.tmp"));
    }

    [Fact]
    public void AWriteRemovesTheTemporariesOfDeadWritersOnly()
    {
        using var temp = TestData.NewTempFolder();
        var dead = DeadPid();
        var stale = temp.File($".o.onnx.sharpquant-{dead}-{Guid32}.tmp");
        var staleOtherOutput = temp.File($".report.html.sharpquant-{dead}-{Guid32}.tmp");
        var staleOldName = temp.File($".o.onnx.{dead}.{Guid32}.tmp");
        var live = temp.File($".o.onnx.sharpquant-{Environment.ProcessId}-{Guid32}.tmp");
        var liveInit = temp.File($".o.onnx.sharpquant-1-{Guid32}.tmp");
        var unrelated = temp.File(".o.onnx.tmp");
        foreach (var f in new[] { stale, staleOtherOutput, staleOldName, live, liveInit, unrelated })
        {
            File.WriteAllBytes(f, new byte[1024]);
        }
        var model = temp.File("m.onnx");
        File.WriteAllBytes(model, ProtoModels.AddRelu().Bytes());

        var (code, _, stderr) = InspectCommandTests.Run("fold", model, "-o", temp.File("o.onnx"));
        Assert.True(code == ExitCodes.Ok, stderr);
        var left = Directory.EnumerateFiles(temp.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(new[] { live, liveInit, unrelated, model, temp.File("o.onnx") }.Select(Path.GetFileName).Order(StringComparer.Ordinal), left);
    }

    [SkippableFact]
    public void ALinkUnderATemporaryNameIsNeverFollowedOrRemoved()
    {
        SpecialFiles.RequirePosix();
        using var temp = TestData.NewTempFolder();
        File.WriteAllText(temp.File("precious.txt"), "keep");
        var link = temp.File($".o.onnx.sharpquant-{DeadPid()}-{Guid32}.tmp");
        File.CreateSymbolicLink(link, temp.File("precious.txt"));
        Assert.Empty(TempFiles.RemoveStale(temp.Path));
        Assert.Equal("keep", File.ReadAllText(temp.File("precious.txt")));
        Assert.Equal(FileKind.SymbolicLink, FileStat.Of(link, followLinks: false)!.Kind);
    }
}
