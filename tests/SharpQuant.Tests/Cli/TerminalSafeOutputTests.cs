using Google.Protobuf;
using SharpQuant.Cli;
using SharpQuant.IO;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Cli;

/// <summary>Issue 16, item 18: control characters in names from the file never reach the terminal raw.</summary>
public class TerminalSafeOutputTests
{
    private const string HostileName = "c2\u001b[31m\u0007\nevil\u202e";

    private static bool HasRawControl(string text) =>
        text.Any(c => c != '\n' && c != '\r' && (char.IsControl(c) || c == '\u202e'));

    [Fact]
    public void EscapeMakesControlCharactersVisible()
    {
        Assert.Equal("c2\\x1B[31m\\x07\\nevil\\u202E", TerminalText.Escape(HostileName));
        Assert.Equal("a\\tb\\r\\x00\\x7F\\x9B", TerminalText.Escape("a\tb\r\0\u007f\u009b"));
        const string plain = "layer2.0/conv1 — ü";
        Assert.Same(plain, TerminalText.Escape(plain));
    }

    [Fact]
    public void InspectTabularEscapesNodeAndValueNames()
    {
        var model = HostileModels.ConvPair();
        var c2 = model.NodeNamed("c2");
        c2.Name = HostileName;
        model.NodeNamed("relu").Output[0] = "h3\u0007";
        c2.Input[0] = "h3\u0007";
        model.Graph.Input[0].Name = "x\u001b]0;title\u0007";
        model.NodeNamed("c1").Input[0] = "x\u001b]0;title\u0007";
        using var temp = TestData.NewTempFolder();
        var path = temp.File("names.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        var (code, output, error) = InspectCommandTests.Run("inspect", path, "--tabular");
        Assert.True(code == 0, error);
        Assert.False(HasRawControl(output), "raw control characters in: " + output);
        Assert.Contains("c2\\x1B[31m\\x07\\nevil\\u202E", output);
        Assert.Contains("x\\x1B]0;title\\x07", output);
        // The table keeps one line per node: the newline in the name did not split the row.
        Assert.Single(output.Split('\n'), l => l.Contains("evil") && l.StartsWith("call_module"));
    }

    [Fact]
    public void ErrorLineEscapesTheNodeName()
    {
        var model = HostileModels.ConvPair();
        var c2 = model.NodeNamed("c2");
        c2.Name = HostileName;
        c2.SetAttribute(HostileModels.Int("group", 0));
        var line = HostileModels.AssertRefused(model, ["fold"], "node 'c2\\x1B[31m\\x07");
        Assert.False(HasRawControl(line));
        Assert.Contains("evil\\u202E' (Conv): attribute 'group' must be a positive int32, got 0", line);
    }

    [Fact]
    public void FoldReportEscapesModuleNames()
    {
        var model = HostileModels.ConvPair();
        model.NodeNamed("bn").Name = "bn\u001b[2J";
        using var temp = TestData.NewTempFolder();
        var path = temp.File("names.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = CliApp.Run(["fold", path, "-o", temp.File("out.onnx")], stdout, stderr);
        Assert.True(code == 0, stderr.ToString());
        Assert.False(HasRawControl(stdout.ToString()));
        Assert.Contains("bn\\x1B[2J", stdout.ToString());
    }
}
