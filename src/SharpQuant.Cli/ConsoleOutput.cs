using Spectre.Console;

namespace SharpQuant.Cli;

/// <summary>Spectre consoles over any writer: colour only on a real terminal, and wide enough for paths when redirected.</summary>
public static class ConsoleOutput
{
    public static IAnsiConsole For(TextWriter output)
    {
        var terminal = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!terminal)
        {
            // Redirected output (files, CI logs) has no width of its own: COLUMNS, else TerminalWidth.Redirected.
            console.Profile.Width = TerminalWidth.Of(output);
        }
        return console;
    }

    /// <summary>The progress display every long command uses: description, bar, percentage, time left.</summary>
    public static Progress ProgressBar(this IAnsiConsole console) =>
        console.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn());
}
