namespace SharpQuant.Tests.Cli;

/// <summary>Numeric options are validated the same way in every command, before any work (issue: accepted in silence).</summary>
public class NumericOptionTests
{
    [Theory]
    [InlineData("quantize --data-free -o x.onnx --batch 0", "--batch takes 1 or more, not 0")]
    [InlineData("quantize --data-free -o x.onnx --batch -1", "--batch takes 1 or more, not -1")]
    [InlineData("evaluate --images . --batch 0", "--batch takes 1 or more, not 0")]
    [InlineData("equalize -o x.onnx --threshold nan", "--threshold takes a finite number, not NaN or infinity ('nan')")]
    [InlineData("equalize -o x.onnx --threshold 1e309", "--threshold takes a finite number, not NaN or infinity ('1e309')")]
    [InlineData("equalize -o x.onnx --max-sweeps 0", "--max-sweeps takes 1 or more, not 0")]
    [InlineData("sensitivity --images . --target-sqnr Infinity", "--target-sqnr takes a finite number")]
    [InlineData("sensitivity --images . --target-sqnr inf", "'inf' for option '--target-sqnr'")]
    [InlineData("finetune --images . -o x.onnx --lr nan", "--lr takes a finite number")]
    [InlineData("finetune --images . -o x.onnx --patience -1", "--patience takes 0 or more, not -1")]
    [InlineData("plot histograms --images . --count 0", "--count takes 1 or more, not 0")]
    public void BadNumbersAreUsageErrors(string line, string expected)
    {
        using var temp = Support.TestData.NewTempFolder();
        var args = line.Split(' ').Select(a => a == "x.onnx" ? temp.File("x.onnx") : a).ToArray();
        var (code, _, stderr) = InspectCommandTests.Run(args);
        Assert.Equal(1, code);
        Assert.Contains(expected, stderr);
        Assert.False(File.Exists(temp.File("x.onnx")));
    }
}
