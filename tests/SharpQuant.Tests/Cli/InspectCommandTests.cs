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
        // A backbone without a classifier, said as such (no class count to mistake its 512 features for).
        Assert.Matches(@"model kind +feature extractor: 512-d output, no classifier", output);
    }

    [SkippableFact]
    public void InspectSaysAClassifiersClassCount()
    {
        TestData.RequireSharedData();
        var (code, output, error) = Run("inspect", TestData.PpocrModelPath);
        Assert.True(code == 0, error);
        Assert.Matches(@"model kind +classifier: 2 classes \(probabilities, ends in Softmax\)", output);

        (code, output, _) = Run("inspect", TestData.PpocrModelPath, "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var kind = doc.RootElement.GetProperty("output");
        Assert.Equal("softmax_0.tmp_0", kind.GetProperty("name").GetString());
        Assert.Equal("class-probabilities", kind.GetProperty("kind").GetString());
        Assert.Equal(2, kind.GetProperty("size").GetInt32());
        Assert.True(kind.GetProperty("classScores").GetBoolean());
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
        var kind = doc.RootElement.GetProperty("output");
        Assert.Equal("Pooling395_Output_0", kind.GetProperty("name").GetString());
        Assert.Equal("embedding", kind.GetProperty("kind").GetString());
        Assert.Equal(512, kind.GetProperty("size").GetInt32());
        Assert.Equal("[1, 512, 1, 1]", kind.GetProperty("shape").GetString());
        Assert.False(kind.GetProperty("classScores").GetBoolean());
        Assert.Equal("feature extractor: 512-d output, no classifier", kind.GetProperty("summary").GetString());
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

public class FoldAndEqualizeCommandTests
{
    [Fact]
    public void EqualizeWritesAModelThatLoadsAndReportsSets()
    {
        using var temp = TestData.NewTempFolder();
        var output = temp.File("eq.onnx");
        var (code, stdout, stderr) = InspectCommandTests.Run("equalize", "-o", output, "--json");
        Assert.True(code == 0, stderr);
        using var doc = System.Text.Json.JsonDocument.Parse(stdout);
        Assert.Equal(9, doc.RootElement.GetProperty("sets").GetArrayLength());
        Assert.True(doc.RootElement.GetProperty("converged").GetBoolean());
        var graph = SharpQuant.Onnx.OnnxModel.Load(output);
        Assert.Empty(graph.NodesOfType("BatchNormalization"));
        Assert.Single(Directory.GetFiles(temp.Path));
    }

    [Fact]
    public void FoldRefusesToOverwriteItsInput()
    {
        using var temp = TestData.NewTempFolder();
        var input = temp.File("m.onnx");
        File.Copy(TestModels.ResNet18Path, input);
        var before = File.ReadAllBytes(input);
        var (code, _, stderr) = InspectCommandTests.Run("fold", input, "-o", input);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("never overwrites its input", stderr);
        Assert.Equal(before, File.ReadAllBytes(input));
    }

    [Fact]
    public void FailedRunLeavesNoFileBehind()
    {
        using var temp = TestData.NewTempFolder();
        var bad = temp.File("bad.onnx");
        File.WriteAllText(bad, "not a model");
        var (code, _, stderr) = InspectCommandTests.Run("equalize", bad, "-o", temp.File("out.onnx"));
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal([bad], Directory.GetFiles(temp.Path));
    }

    [Fact]
    public void FoldPrintsWhatItFolded()
    {
        using var temp = TestData.NewTempFolder();
        var (code, stdout, _) = InspectCommandTests.Run("fold", "-o", temp.File("f.onnx"));
        Assert.Equal(0, code);
        Assert.Contains("22 folded, 0 left in place", stdout);
        Assert.Contains("stage1.block0.bn1", stdout);
    }
}
