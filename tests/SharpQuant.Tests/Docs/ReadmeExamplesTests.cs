using System.Globalization;
using System.Text.RegularExpressions;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Docs;

/// <summary>
/// The README's Library section is code people copy: each C# block is written out as a .NET file-based app on the
/// repository's projects and run as it stands, so a block that stops compiling or running fails here.
/// </summary>
public partial class ReadmeExamplesTests
{
    // A first build of a file-based app with its project references takes about a minute on a busy 2-core machine.
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(6);

    [GeneratedRegex(@"^```csharp\n(.*?)^```", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex CSharpBlock();

    /// <summary>The C# blocks of the README's "Library" section, in order.</summary>
    public static IReadOnlyList<string> LibraryBlocks()
    {
        var readme = File.ReadAllText(Path.Combine(TestData.RepositoryRoot, "README.md")).Replace("\r\n", "\n");
        var start = readme.IndexOf("\n## Library\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no '## Library' section");
        var end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var section = end < 0 ? readme[start..] : readme[start..end];
        return CSharpBlock().Matches(section).Select(m => m.Groups[1].Value).ToList();
    }

    [Fact]
    public void TheLibrarySectionHasTwoCompletePrograms()
    {
        var blocks = LibraryBlocks();
        Assert.Equal(2, blocks.Count);
        foreach (var block in blocks)
        {
            // A complete program: its using lines first, then statements (a using after a statement is CS1529).
            var lines = block.Split('\n').Where(l => l.Trim().Length > 0).ToList();
            var firstStatement = lines.FindIndex(l => !l.StartsWith("using ", StringComparison.Ordinal));
            Assert.True(firstStatement > 0);
            Assert.DoesNotContain(lines.Skip(firstStatement), l => Regex.IsMatch(l, @"^using [A-Z][\w.]*;$"));
        }
    }

    [SkippableFact]
    public void TheWholeFlowRunsOnThePhotos()
    {
        TestData.RequireSharedData();
        using var folder = TestData.NewTempFolder();
        var result = RunBlock(0, TestData.ImagesFolder, folder);
        Assert.Contains("feature extractor: 512-d output, no classifier", result.Lines);
        Assert.Contains(result.Lines, l => l.StartsWith("[['stage1.block0.conv1', 'stage1.block0.conv2'], ", StringComparison.Ordinal));
        Assert.Contains("stage1.block0.conv1 (Convolution257) output: Tensor<float32>[8, 64, 56, 56]", result.Lines);
        var fidelity = Regex.Match(result.Output, @"cosine (\d\.\d+), SQNR (\d+\.\d) dB on (\d+) samples");
        Assert.True(fidelity.Success, result.Output);
        Assert.True(double.Parse(fidelity.Groups[1].Value, CultureInfo.InvariantCulture) > 0.99, fidelity.Value);
        Assert.True(double.Parse(fidelity.Groups[2].Value, CultureInfo.InvariantCulture) > 20, fidelity.Value);
        Assert.Equal(20, int.Parse(fidelity.Groups[3].Value, CultureInfo.InvariantCulture));   // 4 of the 9 photos, 5 crops each
        Assert.Contains("wrote report.html", result.Lines);
        Assert.Contains("<html", File.ReadAllText(Path.Combine(folder.Path, "report.html")), StringComparison.Ordinal);
        Assert.True(new FileInfo(Path.Combine(folder.Path, "model-int8.onnx")).Length > 1_000_000);
    }

    [Fact]
    public void TheGradientExampleRuns()
    {
        using var folder = TestData.NewTempFolder();
        var result = RunBlock(1, null, folder);
        Assert.Contains(result.Lines, l => l.StartsWith("d(top-1 output)/d(input): Tensor<float32>[1, 3, 224, 224], d/d(first scale): ", StringComparison.Ordinal));
    }

    /// <summary>Writes block <paramref name="index"/> as a file-based app on the library projects and runs it in a fresh folder.</summary>
    private static ProcessResult RunBlock(int index, string? argument, TempFolder folder)
    {
        var src = Path.Combine(TestData.RepositoryRoot, "src");
        var program = string.Join('\n',
            $"#:project {Path.Combine(src, "SharpQuant", "SharpQuant.csproj")}",
            $"#:project {Path.Combine(src, "SharpQuant.Plots", "SharpQuant.Plots.csproj")}",
            LibraryBlocks()[index]);
        var file = Path.Combine(folder.Path, $"readme-example-{index + 1}.cs");
        File.WriteAllText(file, program);
        string[] arguments = argument is null ? ["run", file] : ["run", file, "--", argument];
        var result = DotnetProcess.Run(folder.Path, Limit, arguments);
        Assert.True(result.ExitCode == 0, $"README block {index + 1} exited with {result.ExitCode}:\n{result.Output}");
        return result;
    }
}
