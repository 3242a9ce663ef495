using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace SharpQuant.Cli.Help;

/// <summary>
/// Turns a command line that does not parse into one error line and a usage hint. An unknown command or option
/// names the closest known one; a token that starts with "-" but landed in a positional argument (the optional
/// MODEL swallows anything) is an unknown option too, not a file name.
/// </summary>
public static class UsageErrors
{
    /// <summary>Writes the errors of <paramref name="parse"/> to <paramref name="error"/>; false when there are none.</summary>
    public static bool Report(ParseResult parse, TextWriter error)
    {
        var command = parse.CommandResult.Command;
        // An unknown option first: its value, if it had one, is unmatched too and says less.
        var unknown = parse.UnmatchedTokens.FirstOrDefault(t => t.StartsWith('-')) ?? SwallowedOption(parse) ?? parse.UnmatchedTokens.FirstOrDefault();
        if (unknown is not null)
        {
            error.WriteLine($"error: {Unknown(command, unknown)}");
        }
        else if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors)
            {
                error.WriteLine($"error: {e.Message}");
            }
        }
        else
        {
            return false;
        }
        error.WriteLine($"Run '{CommandPath(command)} --help' for usage.");
        return true;
    }

    /// <summary>
    /// Spellings of earlier versions and the option that replaced them: System.CommandLine has no hidden aliases
    /// (every alias is listed in help), so an old spelling is an error that names the new one.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> Renamed = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["--out"] = "--output",
        ["--layers"] = "--layer",
        ["--text-seed"] = "--seed",
    };

    /// <summary>The message for a token no command or option knows, with the closest match where one is close.</summary>
    public static string Unknown(Command command, string token)
    {
        var isOption = token.StartsWith('-');
        var candidates = (isOption ? OptionNames(command) : command.Subcommands.Where(c => !c.Hidden).SelectMany(c => c.Aliases.Prepend(c.Name))).ToList();
        var what = isOption ? "option" : command.Subcommands.Count > 0 ? "command" : "argument";
        var message = $"unknown {what} '{token}'" + (command.Parents.Any() ? $" for '{CommandPath(command)}'" : "");
        if (Renamed.TryGetValue(token, out var renamed) && candidates.Contains(renamed))
        {
            return $"{message}: it is now '{renamed}'";
        }
        var closest = Closest(token, candidates);
        return closest is null ? message : $"{message}; did you mean '{closest}'?";
    }

    /// <summary>The closest candidate, if it is within about a third of the token's length (typos, not guesses).</summary>
    public static string? Closest(string token, IEnumerable<string> candidates)
    {
        var best = candidates
            .Distinct(StringComparer.Ordinal)
            .Select(c => (Name: c, Distance: LayerSelection.Distance(token, c)))
            .OrderBy(c => c.Distance)
            .ThenBy(c => c.Name, StringComparer.Ordinal)
            .FirstOrDefault();
        return best.Name is not null && best.Distance <= Math.Max(2, token.Length / 3) ? best.Name : null;
    }

    /// <summary>"sharpquant plot boxplots": the command names from the root down.</summary>
    public static string CommandPath(Command command)
    {
        var names = new List<string> { command.Name };
        for (var parent = command.Parents.OfType<Command>().FirstOrDefault(); parent is not null; parent = parent.Parents.OfType<Command>().FirstOrDefault())
        {
            names.Add(parent.Name);
        }
        names.Reverse();
        return string.Join(' ', names);
    }

    // The options a command accepts: its own and the recursive ones of the commands above it (--help, --verbose).
    private static IEnumerable<string> OptionNames(Command command)
    {
        var own = command.Options.Where(o => !o.Hidden);
        var inherited = command.Parents.OfType<Command>().SelectMany(p => p.Options.Where(o => o.Recursive && !o.Hidden));
        return own.Concat(inherited).SelectMany(o => o.Aliases.Prepend(o.Name));
    }

    // A positional argument's token such as "--tabulr": not a negative number, and not after "--", which is how a
    // file whose name starts with "-" is still given.
    private static string? SwallowedOption(ParseResult parse)
    {
        if (parse.Tokens.Any(t => t.Type == TokenType.DoubleDash))
        {
            return null;
        }
        return parse.CommandResult.Children
            .OfType<ArgumentResult>()
            .SelectMany(a => a.Tokens)
            .Select(t => t.Value)
            .FirstOrDefault(v => v.Length > 1 && v.StartsWith('-') && !double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out _));
    }
}
