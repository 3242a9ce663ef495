using System.Globalization;
using System.Text.RegularExpressions;

namespace SharpQuant.Analysis;

/// <summary>
/// Class names by output index, read from a text file in one of two forms: one label per line (line i names
/// class i, as PyTorch's imagenet_classes.txt), or "index label" lines (the index, whitespace or a colon, the
/// label), recognised when every line has that form. Indices without a line have no label.
/// </summary>
public sealed partial class Labels
{
    private readonly string?[] _names;

    public Labels(IReadOnlyList<string?> names)
    {
        _names = names.ToArray();
    }

    /// <summary>One past the highest index that has a label.</summary>
    public int Count => _names.Length;

    /// <summary>The label of a class, or null when the file names none for it.</summary>
    public string? this[int index] => index >= 0 && index < _names.Length ? _names[index] : null;

    public static Labels Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new SharpQuantException($"label file '{path}' does not exist");
        }
        if (SharpQuant.IO.RegularFiles.Problem(path) is { } problem)
        {
            throw new SharpQuantException($"label file '{path}' {problem}");
        }
        return Parse(File.ReadAllLines(path), path);
    }

    /// <param name="source">The file name, for messages.</param>
    public static Labels Parse(IReadOnlyList<string> lines, string source)
    {
        // Trailing blank lines (a final newline, an editor's habit) carry no class.
        var count = lines.Count;
        while (count > 0 && string.IsNullOrWhiteSpace(lines[count - 1]))
        {
            count--;
        }
        if (count == 0)
        {
            throw new SharpQuantException($"label file '{source}' holds no labels");
        }
        var used = lines.Take(count).ToList();
        var blank = used.FindIndex(string.IsNullOrWhiteSpace);
        if (blank >= 0)
        {
            throw new SharpQuantException($"label file '{source}': line {blank + 1} is empty");
        }
        var indexed = used.Select(l => IndexedLine().Match(l)).ToList();
        if (!indexed.All(m => m.Success))
        {
            return new Labels(used.Select(l => l.Trim()).ToList());
        }
        var names = new Dictionary<int, string>();
        for (var i = 0; i < indexed.Count; i++)
        {
            if (!int.TryParse(indexed[i].Groups["index"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                throw new SharpQuantException($"label file '{source}': line {i + 1}: index '{indexed[i].Groups["index"].Value}' is too large");
            }
            if (!names.TryAdd(index, indexed[i].Groups["label"].Value.Trim()))
            {
                throw new SharpQuantException($"label file '{source}': line {i + 1}: index {index} is labelled twice");
            }
        }
        var array = new string?[names.Keys.Max() + 1];
        foreach (var (index, name) in names)
        {
            array[index] = name;
        }
        return new Labels(array);
    }

    [GeneratedRegex(@"^\s*(?<index>\d+)(\s*:\s*|\s+)(?<label>\S.*)$")]
    private static partial Regex IndexedLine();
}
