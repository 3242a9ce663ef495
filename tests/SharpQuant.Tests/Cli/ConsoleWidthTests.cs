using SharpQuant.Cli;
using SharpQuant.Onnx;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Cli;

/// <summary>Console output fits the width it is given, and repeated skip reasons are said once.</summary>
public class ConsoleWidthTests
{
    [Fact]
    public void ColumnFitClipsTheWidestColumnsFirst()
    {
        var widths = ColumnFit.Fit([11, 20, 20, 90, 80], ["opcode", "name", "target", "args", "kwargs"], 100, separator: 2);
        Assert.Equal(92, widths.Sum());
        Assert.Equal([11, 20, 20], widths[..3]);
        Assert.InRange(Math.Abs(widths[3] - widths[4]), 0, 1);

        // Narrower than the floors allow: every column at its floor, none below.
        widths = ColumnFit.Fit([11, 20, 20, 90, 80], ["opcode", "name", "target", "args", "kwargs"], 10, separator: 2);
        Assert.Equal([ColumnFit.MinimumWidth, ColumnFit.MinimumWidth, ColumnFit.MinimumWidth, ColumnFit.MinimumWidth, ColumnFit.MinimumWidth], widths);
    }

    [Fact]
    public void TheGraphTableFitsTheGivenWidthAndKeepsNamesWhole()
    {
        var graph = OnnxModel.Load(TestModels.ResNet18Path);
        var rows = GraphTable.Rows(graph);
        var wide = GraphTable.Format(rows).ReplaceLineEndings("\n").TrimEnd().Split('\n');
        Assert.True(wide.Max(l => l.Length) > 200); // unfitted, the widest rows reach 201 characters

        var narrow = GraphTable.Format(rows, totalWidth: 100).ReplaceLineEndings("\n").TrimEnd().Split('\n');
        Assert.Equal(wide.Length, narrow.Length);
        Assert.All(narrow, l => Assert.True(l.Length <= 100, l));
        Assert.Contains(narrow, l => l.StartsWith("call_module    stage1.block0.conv1  stage1.block0.conv1", StringComparison.Ordinal));
        Assert.Contains(narrow, l => l.EndsWith('…'));
    }

    [Fact]
    public void InspectTabularFitsTheRedirectedWidth()
    {
        var (code, stdout, stderr) = InspectCommandTests.Run("inspect", "--tabular");
        Assert.True(code == 0, stderr);
        var width = TerminalWidth.Of(new StringWriter());
        var lines = stdout.ReplaceLineEndings("\n").Split('\n');
        Assert.All(lines, l => Assert.True(l.Length <= width, $"{l.Length} > {width}: {l}"));
        Assert.Contains(lines, l => l.StartsWith("call_module    stage1.block0.conv1", StringComparison.Ordinal));
    }

    [Fact]
    public void RepeatedSkipReasonsAreOneLineWithTheCountAndTheLayers()
    {
        var lines = SkipReasons.Group(
        [
            new SkipReason("stem.conv1", "stem.conv1 → stem.relu1", "the tensor is read by 2 ops (a, b)"),
            new SkipReason("s1.conv2", "s1.conv2 → s1.add", "Add 's1.add' does not commute with per-channel scaling"),
            new SkipReason("s2.conv2", "s2.conv2 → s2.add", "Add 's2.add' does not commute with per-channel scaling"),
            new SkipReason("s3.conv2", "s3.conv2 → s3.add", "Add 's3.add' does not commute with per-channel scaling"),
        ]);
        Assert.Equal(
        [
            "stem.conv1 → stem.relu1: the tensor is read by 2 ops (a, b)",
            "3 × Add does not commute with per-channel scaling: s1.conv2, s2.conv2, s3.conv2",
        ], lines);
    }

    [Fact]
    public void LongSkipLinesWrapBetweenWordsWithAContinuationIndent()
    {
        var wrapped = SkipReasons.Wrap("3 × Add does not commute: stage1.block0.conv2, stage2.block0.conv2, stage3.block0.conv2", 40).ToList();
        Assert.Equal(["  3 × Add does not commute:", "    stage1.block0.conv2,", "    stage2.block0.conv2,", "    stage3.block0.conv2"], wrapped);
        Assert.Equal(["  short"], SkipReasons.Wrap("short", 40));
    }

    [Fact]
    public void EqualizeGroupsItsNotEqualizedList()
    {
        using var temp = Support.TestData.NewTempFolder();
        var (code, stdout, stderr) = InspectCommandTests.Run("equalize", "-o", temp.File("cle.onnx"));
        Assert.True(code == 0, stderr);
        Assert.Contains("not equalized (13):", stdout);
        // 12 Adds, one line, every layer named once; the one other reason keeps its own line.
        var add = Assert.Single(stdout.ReplaceLineEndings("\n").Split('\n'), l => l.Contains("does not commute"));
        Assert.StartsWith("  12 × Add does not commute with per-channel scaling: stage1.block0.conv2, stage1.block1.conv2,", add);
        Assert.Contains("stem.conv1 → stem.relu1 → stem.maxpool1: the tensor is read by 2 ops", stdout);
        var width = TerminalWidth.Of(new StringWriter());
        Assert.All(stdout.ReplaceLineEndings("\n").Split('\n'), l => Assert.True(l.Length <= width, l));
    }
}
