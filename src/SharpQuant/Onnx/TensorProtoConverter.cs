using System.Runtime.InteropServices;
using Google.Protobuf;
using Proto = global::Onnx;

namespace SharpQuant.Onnx;

/// <summary>Converts between ONNX TensorProto messages and IR tensors, in every storage form ONNX allows.</summary>
internal static class TensorProtoConverter
{
    /// <summary>Reads a tensor; <paramref name="externalData"/> supplies the bytes of tensors stored outside the file.</summary>
    public static Tensor ToTensor(Proto.TensorProto proto, ExternalDataResolver? externalData)
    {
        var type = (ElementType)proto.DataType;
        var shape = proto.Dims.ToArray();
        var name = proto.Name.Length > 0 ? proto.Name : "<unnamed>";
        var size = type.SizeInBytes();
        if (size == 0)
        {
            throw new InvalidModelException($"tensor '{name}' has element type {type.DisplayName()}, which SharpQuant does not read");
        }
        if (shape.Any(d => d < 0))
        {
            throw new InvalidModelException($"tensor '{name}' has a negative dimension {Shapes.Format(shape)}");
        }
        long count;
        try
        {
            count = Shapes.ElementCount(shape);
        }
        catch (OverflowException)
        {
            throw new InvalidModelException($"tensor '{name}' has an impossible shape {Shapes.Format(shape)}");
        }
        // .NET arrays hold at most Array.MaxLength bytes; a declared size beyond that (2^31 bytes or more, or a product
        // that overflows) is refused here rather than failing as an OverflowException when the buffer is allocated.
        if (count > Array.MaxLength / size)
        {
            throw new InvalidModelException(
                $"tensor '{name}' of shape {Shapes.Format(shape)} and type {type.DisplayName()} declares {FormatBytes(count, size)}; SharpQuant reads tensors of up to {Array.MaxLength} bytes");
        }
        var expected = count * size;

        byte[] bytes;
        if (proto.DataLocation == Proto.TensorProto.Types.DataLocation.External)
        {
            if (externalData is null)
            {
                throw new ExternalDataException($"tensor '{name}' is stored in an external file, but the model was not loaded from a folder");
            }
            bytes = externalData.Read(proto, expected);
        }
        else if (!proto.RawData.IsEmpty)
        {
            bytes = proto.RawData.ToByteArray();
        }
        else
        {
            bytes = FromTypedFields(proto, type, count);
        }
        if (bytes.LongLength != expected)
        {
            throw new InvalidModelException(
                $"tensor '{name}' of shape {Shapes.Format(shape)} should hold {expected} bytes of {type.DisplayName()} but holds {bytes.LongLength} (truncated or corrupt file?)");
        }
        return new Tensor(type, shape, bytes);
    }

    private static string FormatBytes(long count, int size) =>
        count > long.MaxValue / size ? $"{count} elements of {size} bytes" : $"{count * size} bytes";

    private static byte[] FromTypedFields(Proto.TensorProto proto, ElementType type, long count)
    {
        // The typed field's length is checked before the buffer is made, so huge dims with a few values fail cleanly.
        var available = type switch
        {
            ElementType.Float => proto.FloatData.Count,
            ElementType.Double => proto.DoubleData.Count,
            ElementType.Int64 => proto.Int64Data.Count,
            ElementType.UInt64 or ElementType.UInt32 => proto.Uint64Data.Count,
            _ => proto.Int32Data.Count,
        };
        if (available != count)
        {
            var name = proto.Name.Length > 0 ? proto.Name : "<unnamed>";
            throw new InvalidModelException($"tensor '{name}' of shape {Shapes.Format(proto.Dims.ToArray())} should hold {count} elements but holds {available} (truncated or corrupt file?)");
        }
        var bytes = new byte[count * type.SizeInBytes()];
        var span = bytes.AsSpan();
        switch (type)
        {
            case ElementType.Float:
                CopyChecked(proto.FloatData, count, proto.Name);
                proto.FloatData.ToArray().AsSpan().CopyTo(MemoryMarshal.Cast<byte, float>(span));
                break;
            case ElementType.Double:
                CopyChecked(proto.DoubleData, count, proto.Name);
                proto.DoubleData.ToArray().AsSpan().CopyTo(MemoryMarshal.Cast<byte, double>(span));
                break;
            case ElementType.Int64:
                CopyChecked(proto.Int64Data, count, proto.Name);
                proto.Int64Data.ToArray().AsSpan().CopyTo(MemoryMarshal.Cast<byte, long>(span));
                break;
            case ElementType.UInt64 or ElementType.UInt32:
                CopyChecked(proto.Uint64Data, count, proto.Name);
                for (var i = 0; i < count; i++)
                {
                    if (type == ElementType.UInt64)
                    {
                        MemoryMarshal.Cast<byte, ulong>(span)[i] = proto.Uint64Data[i];
                    }
                    else
                    {
                        MemoryMarshal.Cast<byte, uint>(span)[i] = (uint)proto.Uint64Data[i];
                    }
                }
                break;
            case ElementType.Int32:
                CopyChecked(proto.Int32Data, count, proto.Name);
                proto.Int32Data.ToArray().AsSpan().CopyTo(MemoryMarshal.Cast<byte, int>(span));
                break;
            default:
                // int8, uint8, int16, uint16, bool, float16, bfloat16 and float8 travel in int32_data, one element each.
                CopyChecked(proto.Int32Data, count, proto.Name);
                var elementSize = type.SizeInBytes();
                for (var i = 0; i < count; i++)
                {
                    var v = proto.Int32Data[i];
                    if (elementSize == 1)
                    {
                        span[i] = (byte)v;
                    }
                    else
                    {
                        MemoryMarshal.Cast<byte, ushort>(span)[i] = (ushort)v;
                    }
                }
                break;
        }
        return bytes;
    }

    private static void CopyChecked<T>(Google.Protobuf.Collections.RepeatedField<T> field, long count, string name)
    {
        if (field.Count != count)
        {
            throw new InvalidModelException($"tensor '{name}' should hold {count} elements but holds {field.Count} (truncated or corrupt file?)");
        }
    }

    public static Proto.TensorProto ToProto(Tensor tensor, string name)
    {
        var proto = new Proto.TensorProto { Name = name, DataType = (int)tensor.ElementType };
        proto.Dims.AddRange(tensor.Shape);
        proto.RawData = ByteString.CopyFrom(tensor.Bytes);
        return proto;
    }
}
