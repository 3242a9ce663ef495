using SharpQuant.Cli;
using SharpQuant.Cli.Commands;
using SharpQuant.Onnx;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Cli;

public class FinetuneCommandTests
{
    [SkippableFact]
    public void FineTunesPpocrOnRenderedLinesAndWritesTheQdqModelAndTheSimulation()
    {
        TestData.RequireSharedData();
        TestData.RequireFonts();
        using var temp = TestData.NewTempFolder();
        var output = temp.File("cls-w4.onnx");
        var (code, stdout, stderr) = InspectCommandTests.Run("finetune", TestData.PpocrModelPath, "--text-orientation", "16", "--wbits", "4",
            "--weights", "per-tensor", "--learn", "scales,weights", "--steps", "3", "--batch", "8", "-o", output);
        Assert.True(code == 0, stderr);
        Assert.Contains("fine-tuned", stdout);
        Assert.Contains("16 rendered text lines, seed 2", stdout);
        Assert.Contains("in 3 steps", stdout);
        Assert.Contains("int8 QDQ model", stdout);
        var qdq = OnnxModel.Load(output);
        Assert.Contains(qdq.Nodes, n => n.OpType == "QuantizeLinear");
        var sim = OnnxModel.Load(temp.File("cls-w4.sim.onnx"));
        Assert.Contains(sim.Nodes, n => n.OpType == "Round");
        Assert.DoesNotContain(sim.Nodes, n => !n.IsStandardOnnx);

        // evaluate runs both outputs against the float model.
        var (evalCode, evalOut, evalErr) = InspectCommandTests.Run("evaluate", TestData.PpocrModelPath, output, temp.File("cls-w4.sim.onnx"), "--text-orientation", "8");
        Assert.True(evalCode == 0, evalErr);
        Assert.Contains("cls-w4.sim.onnx", evalOut);
    }

    [Fact]
    public void SimulationGoesBesideTheOutput()
    {
        Assert.Equal(Path.Combine("a", "m.sim.onnx"), FinetuneCommand.SimulationPath(Path.Combine("a", "m.onnx")));
        Assert.Equal("m.bin.sim.onnx", FinetuneCommand.SimulationPath("m.bin"));
    }

    [Theory]
    [InlineData("--learn", "scales,biases")]
    [InlineData("--steps", "0")]
    [InlineData("--batch", "0")]
    [InlineData("--lr", "-1")]
    [InlineData("--temperature", "0")]
    [InlineData("--wbits", "1")]
    [InlineData("--preset", "resnet18")]
    public void BadOptionsAreUsageErrors(string option, string value)
    {
        using var temp = TestData.NewTempFolder();
        var (code, _, stderr) = InspectCommandTests.Run("finetune", "model.onnx", "--text-orientation", "4", option, value, "-o", temp.File("out.onnx"));
        Assert.Equal(ExitCodes.Usage, code);
        Assert.StartsWith("error: ", stderr);
        Assert.Single(stderr.Trim().Split('\n'), l => l.StartsWith("error"));
    }

    [Fact]
    public void MissingDataOrBothSourcesAreUsageErrors()
    {
        using var temp = TestData.NewTempFolder();
        var (code, _, stderr) = InspectCommandTests.Run("finetune", "-o", temp.File("out.onnx"));
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("give --images DIR, --inputs DIR or --text-orientation N", stderr);
        (code, _, stderr) = InspectCommandTests.Run("finetune", "--images", temp.Path, "--text-orientation", "4", "-o", temp.File("out.onnx"));
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("exclude each other", stderr);
    }

    [Fact]
    public void MissingModelOrImagesAreBadInputAndTheInputIsNeverOverwritten()
    {
        using var temp = TestData.NewTempFolder();
        var (code, _, stderr) = InspectCommandTests.Run("finetune", temp.File("missing.onnx"), "--text-orientation", "4", "-o", temp.File("out.onnx"));
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("does not exist", stderr);
        (code, _, stderr) = InspectCommandTests.Run("finetune", "--images", temp.Path, "-o", temp.File("out.onnx"));
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("holds no", stderr);
        var model = temp.File("m.onnx");
        File.WriteAllBytes(model, [1, 2, 3]);
        (code, _, stderr) = InspectCommandTests.Run("finetune", model, "--images", temp.Path, "-o", model);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("never overwrites", stderr);
        Assert.Equal([1, 2, 3], File.ReadAllBytes(model));
    }
}
