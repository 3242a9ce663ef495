using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace SharpQuant.Cli;

/// <summary>
/// One validation of numeric options for every command, applied to the whole tree: decimals must be finite (NaN,
/// "inf" and overflowing literals such as 1e309 alike), counts at least 1, and --patience at least 0. Bounds that
/// depend on the option's meaning (bit widths, learning rates) stay with the command that knows them.
/// </summary>
public static class NumericOptions
{
    /// <summary>Integer options that count something: 0 or less is a usage error.</summary>
    private static readonly HashSet<string> Counts = new(StringComparer.Ordinal)
    {
        "--batch", "--steps", "--top", "--count", "--text-orientation", "--max-sweeps",
    };

    public static void ApplyTo(Command root)
    {
        foreach (var command in Walk(root))
        {
            foreach (var option in command.Options)
            {
                Apply(option);
            }
        }
    }

    private static IEnumerable<Command> Walk(Command command) => command.Subcommands.SelectMany(Walk).Prepend(command);

    private static void Apply(Option option)
    {
        switch (option)
        {
            case Option<double> or Option<double?> or Option<float> or Option<float?>:
                option.Validators.Add(Finite);
                break;
            case Option<int> or Option<int?> when Counts.Contains(option.Name):
                option.Validators.Add(r => AtLeast(r, 1));
                break;
            case Option<int> when option.Name == "--patience":
                option.Validators.Add(r => AtLeast(r, 0));
                break;
        }
    }

    // The tokens are read here rather than through the option's value: a token that does not parse already has the
    // parser's own error, and asking for the value would throw.
    private static void Finite(OptionResult result)
    {
        foreach (var token in result.Tokens)
        {
            if (double.TryParse(token.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && !double.IsFinite(value))
            {
                result.AddError($"{result.Option.Name} takes a finite number, not NaN or infinity ('{token.Value}')");
            }
        }
    }

    private static void AtLeast(OptionResult result, int minimum)
    {
        foreach (var token in result.Tokens)
        {
            if (int.TryParse(token.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value < minimum)
            {
                result.AddError($"{result.Option.Name} takes {minimum} or more, not {value}");
            }
        }
    }
}
