using System.Text.Json;
using SharpQuant.Cli;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Cli;

public class InspectCommandTests
{
    internal static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = CliApp.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void InspectsTheDefaultModel()
    {
        var (code, output, error) = Run("inspect");
        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.Contains("CNTK 2.6", output);
        Assert.Contains("Input247", output);
        Assert.Contains("[1, 3, 224, 224]", output);
        Assert.Matches(@"Conv\s+│\s+22", output);
    }

    [Fact]
    public void TabularAndJson()
    {
        var (code, output, _) = Run("inspect", "--tabular");
        Assert.Equal(0, code);
        Assert.Contains("call_module    stage1.block0.conv1", output);

        (code, output, _) = Run("inspect", "--json", "--tabular");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var summary = doc.RootElement.GetProperty("summary");
        Assert.Equal(22, summary.GetProperty("opCounts").GetProperty("Conv").GetInt32());
        Assert.Equal(8, summary.GetProperty("opsets").GetProperty("ai.onnx").GetInt32());
        Assert.Equal(76, doc.RootElement.GetProperty("graph").GetArrayLength());
    }

    [Fact]
    public void BadInputIsOneLineAndExitCode2()
    {
        using var temp = TestData.NewTempFolder();
        var path = temp.File("bad.onnx");
        File.WriteAllBytes(path, [1, 2, 3, 4, 5]);
        var (code, output, error) = Run("inspect", path);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Equal("", output);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);

        (code, _, error) = Run("inspect", temp.File("missing.onnx"));
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("does not exist", error);
    }

    [Fact]
    public void UsageErrorsExitWith1()
    {
        var (code, _, error) = Run("inspect", "a.onnx", "b.onnx");
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("b.onnx", error);
        (code, _, error) = Run("frobnicate");
        Assert.Equal(ExitCodes.Usage, code);
        Assert.StartsWith("error: ", error);
    }
}
