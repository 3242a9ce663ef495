using System.CommandLine;
using System.CommandLine.Help;
using SharpQuant.Cli.Commands;
using SharpQuant.Cli.Help;

namespace SharpQuant.Cli;

/// <summary>The <c>sharpquant</c> command tree. Runs in-process with any writers, so tests call it directly.</summary>
public static class CliApp
{
    /// <summary>The command people type, as usage lines and examples show it.</summary>
    public const string Name = "sharpquant";

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = Build(stdout, stderr);
        var parse = root.Parse(args);
        var invocation = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
        if (parse.Action is not { ClearsParseErrors: true } && UsageErrors.Report(parse, stderr))
        {
            return ExitCodes.Usage;
        }
        return parse.Invoke(invocation);
    }

    /// <summary>The whole command tree, writing to the given writers (tests walk it to check every command).</summary>
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var verbose = new Option<bool>("--verbose") { Description = "Show details (stack traces) when something fails", Recursive = true };
        var context = new CliContext(stdout, stderr, new CommandRunner(stderr, verbose));
        // A named root rather than RootCommand, whose name is the executable's file name (SharpQuant.Cli, or
        // testhost under tests): usage lines say what people type.
        var root = new Command(Name, "SharpQuant: make trained convolutional networks in ONNX quantize well")
        {
            new HelpOption(),
            new VersionOption(),
            InspectCommand.Create(context),
            FoldCommand.Create(context),
            EqualizeCommand.Create(context),
            QuantizeCommand.Create(context),
            FinetuneCommand.Create(context),
            EvaluateCommand.Create(context),
            SensitivityCommand.Create(context),
            PlotCommand.Create(context),
            ReportCommand.Create(context),
            DemoCommand.Create(context),
        };
        root.Options.Add(verbose);
        NumericOptions.ApplyTo(root);
        ExamplesHelpAction.ApplyTo(root, TerminalWidth.Of(stdout));
        return root;
    }
}

/// <summary>What every command needs: where to write, and the runner that maps failures to exit codes.</summary>
public sealed record CliContext(TextWriter Out, TextWriter Error, CommandRunner Runner);
