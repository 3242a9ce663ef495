using System.CommandLine;
using SharpQuant.Cli.Commands;

namespace SharpQuant.Cli;

/// <summary>The <c>sharpquant</c> command tree. Runs in-process with any writers, so tests call it directly.</summary>
public static class CliApp
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var verbose = new Option<bool>("--verbose") { Description = "Show details (stack traces) when something fails", Recursive = true };
        var context = new CliContext(stdout, stderr, new CommandRunner(stderr, verbose));
        var root = new RootCommand("SharpQuant: make trained convolutional networks in ONNX quantize well")
        {
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
        var parse = root.Parse(args);
        var invocation = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors)
            {
                stderr.WriteLine($"error: {e.Message}");
            }
            stderr.WriteLine("Run 'sharpquant --help' for usage.");
            return ExitCodes.Usage;
        }
        return parse.Invoke(invocation);
    }
}

/// <summary>What every command needs: where to write, and the runner that maps failures to exit codes.</summary>
public sealed record CliContext(TextWriter Out, TextWriter Error, CommandRunner Runner);
