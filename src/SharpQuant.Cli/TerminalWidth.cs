namespace SharpQuant.Cli;

/// <summary>
/// How wide console output may be: the terminal's width when writing to one, else <c>COLUMNS</c> when set, else
/// <see cref="Redirected"/>, wide enough for paths on one line and narrow enough to read in a log.
/// </summary>
public static class TerminalWidth
{
    public const int Redirected = 160;

    /// <summary>Narrower terminals still get this many columns: below it tables would be all ellipses.</summary>
    public const int Minimum = 60;

    public static int Of(TextWriter output)
    {
        if (ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected)
        {
            try
            {
                var width = Console.WindowWidth;
                if (width > 0)
                {
                    return Math.Max(Minimum, width);
                }
            }
            catch (IOException)
            {
                // No console window after all (a detached process): fall through to the redirected width.
            }
        }
        return int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out var columns) && columns > 0
            ? Math.Max(Minimum, columns)
            : Redirected;
    }
}
