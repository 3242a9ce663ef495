using System.CommandLine;

namespace SharpQuant.Cli;

/// <summary>
/// Runs a command body and turns failures into one line on stderr and an exit code: bad input (our typed
/// exceptions, file errors) exits 2; anything else is a bug and exits 3. <c>--verbose</c> adds the full trace.
/// </summary>
public sealed class CommandRunner(TextWriter error, Option<bool> verbose)
{
    public int Run(ParseResult parse, Func<int> body)
    {
        var showDetail = parse.GetValue(verbose);
        try
        {
            return body();
        }
        catch (UsageException e)
        {
            error.WriteLine($"error: {OneLine(e.Message)}");
            return ExitCodes.Usage;
        }
        catch (Exception e) when (IsBadInput(e))
        {
            error.WriteLine($"error: {OneLine(e.Message)}");
            if (showDetail)
            {
                error.WriteLine(Detail(e));
            }
            return ExitCodes.BadInput;
        }
        catch (Exception e)
        {
            error.WriteLine($"error: internal error ({e.GetType().Name}): {OneLine(e.Message)}{(showDetail ? "" : " (run with --verbose for details)")}");
            if (showDetail)
            {
                error.WriteLine(Detail(e));
            }
            return ExitCodes.InternalError;
        }
    }

    private static bool IsBadInput(Exception e) =>
        e is SharpQuantException or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or IOException;

    private static string Detail(Exception e) =>
        string.Join(Environment.NewLine, e.ToString().ReplaceLineEndings("\n").Split('\n').Select(IO.TerminalText.Escape));

    // Messages name nodes and files from the input: their control characters are escaped, never sent raw.
    private static string OneLine(string message) => IO.TerminalText.Escape(message.ReplaceLineEndings(" ").Trim());
}

/// <summary>A command line that parses but makes no sense (for example an output that would overwrite the input).</summary>
public sealed class UsageException(string message) : Exception(message);
