using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace SharpQuant.Cli.Help;

/// <summary>
/// The help of System.CommandLine, then the command's examples. Wrapping the stock action keeps its layout and its
/// "errors do not matter while help is asked for" behaviour; only the end is ours.
/// </summary>
public sealed class ExamplesHelpAction(HelpAction inner) : SynchronousCommandLineAction
{
    public override bool ClearsParseErrors => true;

    public override int Invoke(ParseResult parseResult)
    {
        var code = inner.Invoke(parseResult);
        var command = parseResult.CommandResult.Command;
        var path = UsageErrors.CommandPath(command);
        var key = path.Contains(' ') ? path[(path.IndexOf(' ') + 1)..] : "";
        if (CommandExamples.ByCommand.TryGetValue(key, out var examples))
        {
            var output = parseResult.InvocationConfiguration.Output;
            output.WriteLine("Examples:");
            foreach (var example in examples)
            {
                output.WriteLine($"  {example}");
            }
            output.WriteLine();
        }
        return code;
    }

    /// <summary>Puts this action on the help option of <paramref name="root"/> (recursive, so every command has it).</summary>
    public static void ApplyTo(Command root, int width)
    {
        var help = root.Options.OfType<HelpOption>().Single();
        var stock = (HelpAction)help.Action!;
        stock.MaxWidth = width;
        help.Action = new ExamplesHelpAction(stock);
    }
}
