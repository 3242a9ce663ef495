namespace SharpQuant.Tests.Support;

/// <summary>
/// A value a model reads or returns, as the ONNX backend test data stores it: a tensor, a sequence or an optional.
/// Test-side only: the IR carries tensors, but the corpus feeds and returns the other kinds too.
/// </summary>
public abstract record DataValue;

/// <summary>A dense tensor: raw little-endian bytes, or the elements of a string tensor.</summary>
public sealed record TensorData(ElementType Type, long[] Shape, byte[] Bytes, string[]? Strings = null) : DataValue
{
    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);

    public override string ToString() => $"{Type.DisplayName()}{Shapes.Format(Shape)}";
}

public sealed record SequenceData(IReadOnlyList<DataValue> Items) : DataValue
{
    public override string ToString() => $"seq({string.Join(", ", Items)})";
}

/// <summary>An optional: <see cref="Item"/> is null for an empty one.</summary>
public sealed record OptionalData(DataValue? Item) : DataValue
{
    public override string ToString() => Item is null ? "none" : $"optional({Item})";
}
