namespace SharpQuant;

/// <summary>
/// Column widths for a text table that must fit a line width: the widest columns give up characters first, one at a
/// time, so narrow columns (opcode, name) stay whole and the long ones (args, kwargs) are clipped.
/// </summary>
public static class ColumnFit
{
    /// <summary>No column is clipped below this (or below its header): a clipped cell still shows what it starts with.</summary>
    public const int MinimumWidth = 8;

    /// <param name="natural">Each column's widest cell.</param>
    /// <param name="headers">The header of each column, never clipped.</param>
    /// <param name="totalWidth">The line width to fit, separators included.</param>
    /// <param name="separator">Characters between two columns.</param>
    public static int[] Fit(IReadOnlyList<int> natural, IReadOnlyList<string> headers, int totalWidth, int separator)
    {
        var widths = natural.ToArray();
        var floor = headers.Select(h => Math.Max(h.Length, MinimumWidth)).ToArray();
        var budget = totalWidth - separator * (widths.Length - 1);
        while (widths.Sum() > budget)
        {
            var widest = Enumerable.Range(0, widths.Length).Where(i => widths[i] > floor[i]).OrderByDescending(i => widths[i]).FirstOrDefault(-1);
            if (widest < 0)
            {
                break; // Every column at its floor: the line stays wider than asked rather than unreadable.
            }
            widths[widest]--;
        }
        return widths;
    }
}
