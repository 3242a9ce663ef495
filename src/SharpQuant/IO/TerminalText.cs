using System.Globalization;
using System.Text;

namespace SharpQuant.IO;

/// <summary>
/// Text from a model file (node, value and op names) made safe to print: control characters (ESC, BEL, newline, ...),
/// line separators and bidirectional overrides would otherwise reach the terminal raw, where they can recolour,
/// move the cursor, split an <c>error:</c> line or reorder what is shown. Each becomes a visible escape
/// (<c>\n</c>, <c>\x1B</c>, <c>\u202E</c>); other text is returned unchanged.
/// </summary>
public static class TerminalText
{
    public static string Escape(string text)
    {
        var first = text.AsSpan().IndexOfAny(Unsafe);
        if (first < 0)
        {
            return text;
        }
        var sb = new StringBuilder(text.Length + 8);
        sb.Append(text, 0, first);
        for (var i = first; i < text.Length; i++)
        {
            var c = text[i];
            if (!IsUnsafe(c))
            {
                sb.Append(c);
                continue;
            }
            sb.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                < '\u0100' => "\\x" + ((int)c).ToString("X2", CultureInfo.InvariantCulture),
                _ => "\\u" + ((int)c).ToString("X4", CultureInfo.InvariantCulture),
            });
        }
        return sb.ToString();
    }

    private static bool IsUnsafe(char c) => char.IsControl(c) || c is (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069') or '\u2028' or '\u2029';

    private static readonly System.Buffers.SearchValues<char> Unsafe = System.Buffers.SearchValues.Create(
        Enumerable.Range(0, 0x10000).Select(i => (char)i).Where(IsUnsafe).ToArray());
}
