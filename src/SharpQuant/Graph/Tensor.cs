using System.Runtime.InteropServices;

namespace SharpQuant;

/// <summary>
/// A dense tensor: element type, shape and contiguous row-major storage in little-endian bytes.
/// Storing bytes lets one type carry every ONNX element type; typed views come from
/// <see cref="AsSpan{T}"/> without copies.
/// </summary>
public sealed class Tensor
{
    private readonly byte[] _bytes;
    private readonly long[] _shape;

    public Tensor(ElementType elementType, IReadOnlyList<long> shape, byte[] bytes)
    {
        var size = elementType.SizeInBytes();
        if (size == 0)
        {
            throw new ArgumentException($"element type {elementType.DisplayName()} is not supported in tensors", nameof(elementType));
        }
        _shape = shape.ToArray();
        foreach (var d in _shape)
        {
            if (d < 0)
            {
                throw new ArgumentException($"negative dimension in shape {Shapes.Format(_shape)}", nameof(shape));
            }
        }
        var expected = Shapes.ElementCount(_shape) * size;
        if (bytes.LongLength != expected)
        {
            throw new ArgumentException(
                $"tensor of shape {Shapes.Format(_shape)} and type {elementType.DisplayName()} needs {expected} bytes, got {bytes.LongLength}",
                nameof(bytes));
        }
        ElementType = elementType;
        _bytes = bytes;
    }

    public ElementType ElementType { get; }
    public IReadOnlyList<long> Shape => _shape;
    public int Rank => _shape.Length;
    public long ElementCount => Shapes.ElementCount(_shape);
    public long ByteCount => _bytes.LongLength;

    /// <summary>The raw storage (little-endian). Mutating it mutates the tensor.</summary>
    public Span<byte> Bytes => _bytes;

    internal byte[] RawBuffer => _bytes;

    public static Tensor Create<T>(T[] data, params long[] shape) where T : unmanaged
    {
        var type = ElementTypeOf<T>();
        var bytes = MemoryMarshal.AsBytes(data.AsSpan()).ToArray();
        return new Tensor(type, shape, bytes);
    }

    public static Tensor FromFloats(float[] data, params long[] shape) => Create(data, shape);

    public static Tensor Zeros(ElementType type, params long[] shape) =>
        new(type, shape, new byte[Shapes.ElementCount(shape) * type.SizeInBytes()]);

    public static Tensor Scalar(float value) => FromFloats([value]);

    /// <summary>A typed view of the storage. Throws when <typeparamref name="T"/> does not match the element type.</summary>
    public Span<T> AsSpan<T>() where T : unmanaged
    {
        var type = ElementTypeOf<T>();
        if (type != ElementType && !(type == ElementType.UInt8 && ElementType.SizeInBytes() == 1))
        {
            throw new InvalidOperationException($"tensor holds {ElementType.DisplayName()}, not {type.DisplayName()}");
        }
        return MemoryMarshal.Cast<byte, T>(_bytes.AsSpan());
    }

    public Span<float> Floats => AsSpan<float>();

    /// <summary>Copies the elements out as a new array.</summary>
    public T[] ToArray<T>() where T : unmanaged => AsSpan<T>().ToArray();

    /// <summary>Elements as 64-bit integers, for any integer type (shapes, axes, pads).</summary>
    public long[] ToInt64Array() => ElementType switch
    {
        ElementType.Int64 => ToArray<long>(),
        ElementType.Int32 => Array.ConvertAll(ToArray<int>(), v => (long)v),
        ElementType.UInt8 => Array.ConvertAll(ToArray<byte>(), v => (long)v),
        ElementType.Int8 => Array.ConvertAll(ToArray<sbyte>(), v => (long)v),
        _ => throw new InvalidOperationException($"tensor of {ElementType.DisplayName()} is not an integer tensor"),
    };

    public Tensor Clone() => new(ElementType, _shape, (byte[])_bytes.Clone());

    /// <summary>Same storage, another shape with the same element count.</summary>
    public Tensor Reshape(params long[] shape)
    {
        if (Shapes.ElementCount(shape) != ElementCount)
        {
            throw new ArgumentException($"cannot reshape {Shapes.Format(_shape)} to {Shapes.Format(shape)}");
        }
        return new Tensor(ElementType, shape, _bytes);
    }

    public static ElementType ElementTypeOf<T>() where T : unmanaged => typeof(T) switch
    {
        var t when t == typeof(float) => ElementType.Float,
        var t when t == typeof(double) => ElementType.Double,
        var t when t == typeof(byte) => ElementType.UInt8,
        var t when t == typeof(sbyte) => ElementType.Int8,
        var t when t == typeof(short) => ElementType.Int16,
        var t when t == typeof(ushort) => ElementType.UInt16,
        var t when t == typeof(int) => ElementType.Int32,
        var t when t == typeof(uint) => ElementType.UInt32,
        var t when t == typeof(long) => ElementType.Int64,
        var t when t == typeof(ulong) => ElementType.UInt64,
        var t when t == typeof(bool) => ElementType.Bool,
        var t when t == typeof(Half) => ElementType.Float16,
        _ => throw new NotSupportedException($"no ONNX element type for {typeof(T).Name}"),
    };

    public override string ToString() => $"Tensor<{ElementType.DisplayName()}>{Shapes.Format(_shape)}";
}
