using System.Text.RegularExpressions;

namespace SharpQuant.Quantization;

/// <summary>Glob patterns over module and quantizer names: <c>*</c> any run of characters, <c>?</c> one character.</summary>
public static class NamePattern
{
    public static Regex Glob(string glob) =>
        new("^" + Regex.Escape(glob).Replace("\\*", ".*", StringComparison.Ordinal).Replace("\\?", ".", StringComparison.Ordinal) + "$", RegexOptions.CultureInvariant);
}
