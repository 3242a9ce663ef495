using System.Text.RegularExpressions;
using SharpQuant.Quantization;

namespace SharpQuant.Cli;

/// <summary>
/// The <c>--layer</c> globs of a command, matched against module names. A pattern that matches nothing is a bad
/// input with the closest names listed, so a typo gets one line that shows the right spelling.
/// </summary>
public sealed class LayerSelection
{
    /// <summary>How many close names an error lists.</summary>
    public const int CloseMatches = 5;

    private readonly IReadOnlyList<(string Pattern, Regex Regex)> _patterns;

    public LayerSelection(IReadOnlyList<string>? patterns)
    {
        _patterns = (patterns ?? []).Select(p => (p, NamePattern.Glob(p))).ToList();
    }

    /// <summary>No --layer given: every layer.</summary>
    public bool All => _patterns.Count == 0;

    public bool Matches(string name) => All || _patterns.Any(p => p.Regex.IsMatch(name));

    /// <summary>Throws when a pattern matches none of <paramref name="names"/>, listing the closest ones.</summary>
    public void RequireEachMatches(IReadOnlyCollection<string> names, string what)
    {
        foreach (var (pattern, regex) in _patterns)
        {
            if (!names.Any(regex.IsMatch))
            {
                var close = names.Distinct().OrderBy(n => Distance(pattern, n)).ThenBy(n => n, StringComparer.Ordinal).Take(CloseMatches);
                throw new SharpQuantException($"no {what} matches '{pattern}'; close matches: {string.Join(", ", close)}");
            }
        }
    }

    /// <summary>Levenshtein distance (insertions, deletions, substitutions), two rows of memory.</summary>
    public static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
