using System.Text.RegularExpressions;
using Spectre.Console;

namespace SharpQuant.Cli;

/// <summary>One thing a pass left alone: the layer it is about, how the pass printed it, and why.</summary>
public sealed record SkipReason(string Layer, string Shown, string Reason);

/// <summary>
/// Skip lists with the same reason said once: on ResNet18, 12 of equalize's 13 "not equalized" lines are the same
/// "Add does not commute" reason for a different Add. Reasons that differ only in the names they quote are one
/// group; a reason met once keeps its full line.
/// </summary>
public static partial class SkipReasons
{
    public static IReadOnlyList<string> Group(IEnumerable<SkipReason> items)
    {
        var lines = new List<string>();
        foreach (var group in items.GroupBy(i => WithoutNames(i.Reason), StringComparer.Ordinal))
        {
            var members = group.ToList();
            lines.Add(members.Count == 1
                ? $"{members[0].Shown}: {members[0].Reason}"
                : $"{members.Count} × {group.Key}: {string.Join(", ", members.Select(m => m.Layer))}");
        }
        return lines;
    }

    /// <summary>Writes the grouped lines indented by two, long ones wrapped between words within the console's width.</summary>
    public static void Write(IAnsiConsole console, IEnumerable<SkipReason> items)
    {
        foreach (var line in Group(items))
        {
            foreach (var part in Wrap(line, console.Profile.Width))
            {
                console.WriteLine(part);
            }
        }
    }

    /// <summary>
    /// <paramref name="line"/> in lines of at most <paramref name="width"/> characters, broken at spaces: the first
    /// indented by two, the rest by four so they read as one item. A word longer than a line stays whole.
    /// </summary>
    public static IEnumerable<string> Wrap(string line, int width)
    {
        var current = new System.Text.StringBuilder("  ");
        var empty = true;
        foreach (var word in line.Split(' '))
        {
            if (!empty && current.Length + 1 + word.Length > width)
            {
                yield return current.ToString();
                current.Clear().Append("    ");
                empty = true;
            }
            current.Append(empty ? "" : " ").Append(word);
            empty = false;
        }
        yield return current.ToString();
    }

    // "Add 'stage1.block0.add' does not commute ..." → "Add does not commute ...".
    private static string WithoutNames(string reason) => Quoted().Replace(reason, "").Trim();

    [GeneratedRegex(@"\s*'[^']*'")]
    private static partial Regex Quoted();
}
