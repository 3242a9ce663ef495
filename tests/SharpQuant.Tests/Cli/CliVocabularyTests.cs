using System.CommandLine;
using SharpQuant.Cli;
using SharpQuant.Cli.Help;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Cli;

/// <summary>One vocabulary across commands, help that ends with examples, and usage errors that name the closest match.</summary>
public class CliVocabularyTests
{
    private static readonly Command Root = CliApp.Build(TextWriter.Null, TextWriter.Null);

    private static IEnumerable<(string Path, Command Command)> Walk(Command command, string path)
    {
        yield return (path, command);
        foreach (var sub in command.Subcommands)
        {
            foreach (var inner in Walk(sub, path.Length == 0 ? sub.Name : $"{path} {sub.Name}"))
            {
                yield return inner;
            }
        }
    }

    private static List<(string Path, Command Command)> AllCommands() => Walk(Root, "").ToList();

    public static TheoryData<string> CommandPaths() => new(AllCommands().Select(c => c.Path));

    [Theory]
    [MemberData(nameof(CommandPaths))]
    public void HelpSaysSharpquantAndEndsWithTwoOrThreeExamples(string path)
    {
        var args = path.Split(' ', StringSplitOptions.RemoveEmptyEntries).Append("--help").ToArray();
        var (code, stdout, stderr) = InspectCommandTests.Run(args);
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        var usage = path.Length == 0 ? "sharpquant" : $"sharpquant {path}";
        Assert.Contains($"Usage:\n  {usage} ", stdout.ReplaceLineEndings("\n"));
        Assert.DoesNotContain("SharpQuant.Cli", stdout);
        Assert.DoesNotContain("testhost", stdout);

        var lines = stdout.ReplaceLineEndings("\n").TrimEnd().Split('\n');
        var header = Array.LastIndexOf(lines, "Examples:");
        Assert.True(header > 0, stdout);
        var examples = lines[(header + 1)..];
        Assert.InRange(examples.Length, 2, 3);
        Assert.All(examples, e => Assert.StartsWith($"  {usage}", e));
    }

    [Fact]
    public void EveryExampleParsesWithoutErrors()
    {
        var paths = AllCommands().Select(c => c.Path).ToHashSet();
        Assert.Equal(paths.OrderBy(p => p), CommandExamples.ByCommand.Keys.OrderBy(p => p));
        foreach (var example in CommandExamples.ByCommand.Values.SelectMany(e => e))
        {
            var args = example.Replace("'", "").Split(' ')[1..];
            var parse = Root.Parse(args);
            var error = new StringWriter();
            Assert.False(UsageErrors.Report(parse, error), $"{example}: {error}");
        }
    }

    [Theory]
    [InlineData("inspct", "error: unknown command 'inspct'; did you mean 'inspect'?", "Run 'sharpquant --help' for usage.")]
    [InlineData("inspect --tabulr", "error: unknown option '--tabulr' for 'sharpquant inspect'; did you mean '--tabular'?", "Run 'sharpquant inspect --help' for usage.")]
    [InlineData("plot boxplot", "error: unknown command 'boxplot' for 'sharpquant plot'; did you mean 'boxplots'?", "Run 'sharpquant plot --help' for usage.")]
    [InlineData("quantize -o x.onnx --imges photos", "error: unknown option '--imges' for 'sharpquant quantize'; did you mean '--images'?", "Run 'sharpquant quantize --help' for usage.")]
    [InlineData("sensitivity --layers stage4.*", "error: unknown option '--layers' for 'sharpquant sensitivity': it is now '--layer'", "Run 'sharpquant sensitivity --help' for usage.")]
    [InlineData("demo --out d", "error: unknown option '--out' for 'sharpquant demo': it is now '--output'", "Run 'sharpquant demo --help' for usage.")]
    [InlineData("finetune --text-orientation 4 --text-seed 3 -o x.onnx", "error: unknown option '--text-seed' for 'sharpquant finetune': it is now '--seed'", "Run 'sharpquant finetune --help' for usage.")]
    [InlineData("inspect --out d", "error: unknown option '--out' for 'sharpquant inspect'", "Run 'sharpquant inspect --help' for usage.")]
    [InlineData("inspect --verbos", "error: unknown option '--verbos' for 'sharpquant inspect'; did you mean '--verbose'?", "Run 'sharpquant inspect --help' for usage.")]
    [InlineData("inspect --zzzzzzzzzz", "error: unknown option '--zzzzzzzzzz' for 'sharpquant inspect'", "Run 'sharpquant inspect --help' for usage.")]
    public void UnknownCommandsAndOptionsNameTheClosestMatch(string line, string first, string second)
    {
        var (code, stdout, stderr) = InspectCommandTests.Run(line.Split(' '));
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal("", stdout);
        Assert.Equal([first, second], stderr.ReplaceLineEndings("\n").TrimEnd().Split('\n'));
    }

    [Fact]
    public void ANegativeNumberOrAPathAfterDoubleDashIsNotAnUnknownOption()
    {
        // After "--" a file whose name starts with "-" is an argument: the command runs and says the file is missing.
        var (code, _, stderr) = InspectCommandTests.Run("inspect", "--", "-model.onnx");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("-model.onnx", stderr);
        Assert.DoesNotContain("unknown option", stderr);
    }

    [Fact]
    public void OneSpellingForOutputsLayersSeedsObserversAndBiasCorrection()
    {
        var options = AllCommands().SelectMany(c => c.Command.Options.Select(o => (c.Path, Option: o))).ToList();
        var names = options.SelectMany(o => o.Option.Aliases.Prepend(o.Option.Name)).ToHashSet();
        Assert.DoesNotContain("--out", names);
        Assert.DoesNotContain("--layers", names);
        Assert.DoesNotContain("--text-seed", names);

        var outputs = options.Where(o => o.Option.Name == "--output").ToList();
        Assert.Equal(["demo", "equalize", "finetune", "fold", "plot boxplots", "plot histograms", "plot sensitivity", "quantize", "report", "sensitivity"],
            outputs.Select(o => o.Path).Order());
        Assert.All(outputs, o => Assert.Contains("-o", o.Option.Aliases));

        var layers = options.Where(o => o.Option.Name == "--layer").ToList();
        Assert.Equal(["plot boxplots", "plot histograms", "plot sensitivity", "report", "sensitivity"], layers.Select(o => o.Path).Order());
        Assert.All(layers, o => Assert.IsType<Option<string[]>>(o.Option));

        var seeds = options.Where(o => o.Option.Name == "--seed").ToList();
        Assert.Equal(["evaluate", "finetune", "quantize", "report", "sensitivity"], seeds.Select(o => o.Path).Order());
        Assert.All(seeds, o => Assert.StartsWith(QuantOptions.SeedDescription, o.Option.Description));

        var observers = options.Where(o => o.Option.Name == "--observer").ToList();
        Assert.Equal(["finetune", "plot histograms", "plot sensitivity", "quantize", "report"], observers.Select(o => o.Path).Order());
        foreach (var (path, option) in observers)
        {
            var parse = Root.Parse(path.Split(' '));
            Assert.Equal("entropy", parse.GetValue((Option<string>)option));
        }

        var corrections = options.Where(o => o.Option.Name == "--bias-correction").ToList();
        Assert.Equal(["finetune", "quantize"], corrections.Select(o => o.Path).Order());
        foreach (var (path, option) in corrections)
        {
            Assert.IsType<Option<string>>(option);
            foreach (var method in QuantOptions.BiasCorrectionNames)
            {
                Assert.Empty(Root.Parse([path, "-o", "x.onnx", "--bias-correction", method]).Errors);
            }
            Assert.NotEmpty(Root.Parse([path, "-o", "x.onnx", "--bias-correction", "yes"]).Errors);
        }
    }

    [SkippableTheory]
    [InlineData("analytic")]
    [InlineData("empirical")]
    public void FinetuneTakesTheBiasCorrectionMethodsQuantizeTakes(string method)
    {
        TestData.RequireSharedData();
        TestData.RequireFonts();
        using var temp = TestData.NewTempFolder();
        var (code, stdout, stderr) = InspectCommandTests.Run("finetune", TestData.PpocrModelPath, "--text-orientation", "8", "--seed", "3",
            "--steps", "1", "--batch", "8", "--bias-correction", method, "-o", temp.File("out.onnx"));
        Assert.True(code == 0, stderr);
        Assert.Contains("8 rendered text lines, seed 3", stdout);
        Assert.Matches($@"{method} bias correction: [1-9]\d* layers corrected", stdout);
        Assert.True(File.Exists(temp.File("out.onnx")));
    }

    [Fact]
    public void ReportTakesSeveralLayers()
    {
        using var temp = TestData.NewTempFolder();
        var path = temp.File("r.html");
        var (code, stdout, stderr) = InspectCommandTests.Run("report", "--layer", "stage2.block0.conv1", "--layer", "stage3.block1.conv2", "-o", path);
        Assert.True(code == 0, stderr);
        var html = File.ReadAllText(path);
        Assert.Contains("Weight range per output channel of stage2.block0.conv1", html);
        Assert.Contains("Weight range per output channel of stage3.block1.conv2", html);

        (code, _, stderr) = InspectCommandTests.Run("report", "--layer", "stage2.block0.conv1", "--layer", "stage9.conv", "-o", temp.File("r2.html"));
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("no layer 'stage9.conv'", stderr);
        Assert.False(File.Exists(temp.File("r2.html")));
    }
}
