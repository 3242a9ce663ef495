using System.Globalization;
using Google.Protobuf;

namespace SharpQuant;

/// <summary>The kinds of node attribute ONNX defines.</summary>
public enum AttributeKind
{
    Float,
    Int,
    String,
    Tensor,
    Graph,
    SparseTensor,
    TypeProto,
    Floats,
    Ints,
    Strings,
    Tensors,
    Graphs,
    SparseTensors,
    TypeProtos,
}

/// <summary>
/// A typed attribute value. Scalars, lists and tensors are plain .NET values; the kinds the IR does not
/// interpret (subgraphs, sparse tensors, type protos) keep their protobuf message so they round-trip unchanged.
/// </summary>
public sealed record AttributeValue(AttributeKind Kind, object Value)
{
    public static AttributeValue Of(long value) => new(AttributeKind.Int, value);
    public static AttributeValue Of(float value) => new(AttributeKind.Float, value);
    public static AttributeValue Of(string value) => new(AttributeKind.String, value);
    public static AttributeValue Of(long[] values) => new(AttributeKind.Ints, values);
    public static AttributeValue Of(float[] values) => new(AttributeKind.Floats, values);
    public static AttributeValue Of(string[] values) => new(AttributeKind.Strings, values);
    public static AttributeValue Of(Tensor value) => new(AttributeKind.Tensor, value);

    public long AsInt() => Kind == AttributeKind.Int ? (long)Value : throw KindMismatch(AttributeKind.Int);
    public float AsFloat() => Kind == AttributeKind.Float ? (float)Value : throw KindMismatch(AttributeKind.Float);
    public string AsString() => Kind == AttributeKind.String ? (string)Value : throw KindMismatch(AttributeKind.String);
    public long[] AsInts() => Kind == AttributeKind.Ints ? (long[])Value : throw KindMismatch(AttributeKind.Ints);
    public float[] AsFloats() => Kind == AttributeKind.Floats ? (float[])Value : throw KindMismatch(AttributeKind.Floats);
    public string[] AsStrings() => Kind == AttributeKind.Strings ? (string[])Value : throw KindMismatch(AttributeKind.Strings);
    public Tensor AsTensor() => Kind == AttributeKind.Tensor ? (Tensor)Value : throw KindMismatch(AttributeKind.Tensor);

    /// <summary>A deep copy: tensors and arrays are copied so an edit of one graph never shows in another.</summary>
    public AttributeValue DeepCopy() => Value switch
    {
        Tensor t => new AttributeValue(Kind, t.Clone()),
        Tensor[] ts => new AttributeValue(Kind, ts.Select(t => t.Clone()).ToArray()),
        IMessage m => new AttributeValue(Kind, m.Descriptor.Parser.ParseFrom(m.ToByteString())),
        IMessage[] ms => new AttributeValue(Kind, ms.Select(m => m.Descriptor.Parser.ParseFrom(m.ToByteString())).ToArray()),
        Array a => new AttributeValue(Kind, a.Clone()),
        _ => this,
    };

    /// <summary>Compact text for tables: <c>[3, 3]</c>, <c>1e-05</c>, <c>'NOTSET'</c>.</summary>
    public string Format() => Value switch
    {
        long l => l.ToString(CultureInfo.InvariantCulture),
        float f => f.ToString("G6", CultureInfo.InvariantCulture),
        string s => "'" + s + "'",
        long[] ls => "[" + string.Join(", ", ls) + "]",
        float[] fs => "[" + string.Join(", ", fs.Select(f => f.ToString("G6", CultureInfo.InvariantCulture))) + "]",
        string[] ss => "[" + string.Join(", ", ss.Select(s => "'" + s + "'")) + "]",
        Tensor t => t.ToString(),
        _ => "<" + Kind.ToString().ToLowerInvariant() + ">",
    };

    private InvalidOperationException KindMismatch(AttributeKind wanted) =>
        new($"attribute holds {Kind}, not {wanted}");
}
