namespace SharpQuant;

/// <summary>One dimension of a shape: a known size, a named symbol (such as "batch"), or unknown.</summary>
public readonly record struct Dim
{
    private Dim(long? size, string? symbol)
    {
        Size = size;
        Symbol = symbol;
    }

    public long? Size { get; }
    public string? Symbol { get; }
    public bool IsKnown => Size.HasValue;

    public static Dim Of(long size) => new(size, null);
    public static Dim Named(string symbol) => new(null, symbol);
    public static Dim Unknown => new(null, null);

    public static implicit operator Dim(long size) => Of(size);

    public override string ToString() => Size?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? Symbol ?? "?";
}

/// <summary>Helpers for shapes written as lists of <see cref="Dim"/>.</summary>
public static class Shapes
{
    public static string Format(IReadOnlyList<Dim>? shape) =>
        shape is null ? "?" : "[" + string.Join(", ", shape) + "]";

    public static string Format(IReadOnlyList<long> shape) => "[" + string.Join(", ", shape) + "]";

    public static long ElementCount(IReadOnlyList<long> shape)
    {
        long count = 1;
        foreach (var d in shape)
        {
            count = checked(count * d);
        }
        return count;
    }
}
