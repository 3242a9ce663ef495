using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace SharpQuant.Tests.Support;

/// <summary>Moves <see cref="DataValue"/>s in and out of ONNX Runtime and compares them.</summary>
public static class OrtData
{
    /// <summary>An OrtValue to feed; null for an empty optional, which is fed by leaving the input out.</summary>
    public static OrtValue? ToOrtValue(DataValue value)
    {
        switch (value)
        {
            case TensorData { Type: ElementType.String } t:
                var strings = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, t.Shape);
                for (var i = 0; i < t.Strings!.Length; i++)
                {
                    strings.StringTensorSetElementAt(t.Strings[i].AsSpan(), i);
                }
                return strings;
            case TensorData t:
                var tensor = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, (TensorElementType)(int)t.Type, t.Shape);
                t.Bytes.CopyTo(tensor.GetTensorMutableRawData());
                return tensor;
            case SequenceData { Items.Count: 0 }:
                throw new NotSupportedException("ONNX Runtime's C# API cannot make an empty sequence");
            case SequenceData s:
                var items = s.Items.Select(i => ToOrtValue(i) ?? throw new NotSupportedException("a sequence of empty optionals")).ToList();
                return OrtValue.CreateSequence(items);
            case OptionalData o:
                return o.Item is null ? null : ToOrtValue(o.Item);
            default:
                throw new NotSupportedException(value.GetType().Name);
        }
    }

    /// <summary>Copies an ONNX Runtime output out (tensors, sequences; an optional shows as what it holds).</summary>
    public static DataValue FromOrtValue(OrtValue value)
    {
        switch (value.OnnxType)
        {
            case OnnxValueType.ONNX_TYPE_TENSOR:
                var info = value.GetTensorTypeAndShape();
                var type = (ElementType)(int)info.ElementDataType;
                return type == ElementType.String
                    ? new TensorData(type, info.Shape, [], value.GetStringTensorAsArray())
                    : new TensorData(type, info.Shape, value.GetTensorMutableRawData().ToArray());
            case OnnxValueType.ONNX_TYPE_SEQUENCE:
                var items = new List<DataValue>();
                for (var i = 0; i < value.GetValueCount(); i++)
                {
                    using var item = value.GetValue(i, OrtAllocator.DefaultInstance);
                    items.Add(FromOrtValue(item));
                }
                return new SequenceData(items);
            default:
                throw new NotSupportedException($"ONNX Runtime returned a {value.OnnxType}");
        }
    }

    /// <summary>Null when the values agree, else what differs. Exact: bit for bit (any NaN equals any NaN).</summary>
    public static string? Difference(DataValue expected, DataValue actual, Tolerance tolerance)
    {
        // ONNX Runtime returns a present optional as the value itself.
        if (expected is OptionalData { Item: { } e })
        {
            return Difference(e, actual, tolerance);
        }
        if (actual is OptionalData { Item: { } a })
        {
            return Difference(expected, a, tolerance);
        }
        switch (expected, actual)
        {
            case (TensorData x, TensorData y):
                return TensorDifference(x, y, tolerance);
            case (SequenceData x, SequenceData y):
                if (x.Items.Count != y.Items.Count)
                {
                    return $"sequence of {y.Items.Count}, expected {x.Items.Count}";
                }
                for (var i = 0; i < x.Items.Count; i++)
                {
                    if (Difference(x.Items[i], y.Items[i], tolerance) is { } d)
                    {
                        return $"item {i}: {d}";
                    }
                }
                return null;
            case (OptionalData { Item: null }, OptionalData { Item: null }):
                return null;
            default:
                return $"{actual}, expected {expected}";
        }
    }

    private static string? TensorDifference(TensorData x, TensorData y, Tolerance tolerance)
    {
        if (x.Type != y.Type || !x.Shape.SequenceEqual(y.Shape))
        {
            return $"{y}, expected {x}";
        }
        if (!tolerance.ValuesMatter)
        {
            return null;
        }
        if (x.Type == ElementType.String)
        {
            return x.Strings!.SequenceEqual(y.Strings!) ? null : "strings differ";
        }
        if (x.Bytes.AsSpan().SequenceEqual(y.Bytes))
        {
            return null;
        }
        var (ex, ey) = x.Type switch
        {
            ElementType.Float => (AsDoubles<float>(x.Bytes, f => f), AsDoubles<float>(y.Bytes, f => f)),
            ElementType.Double => (AsDoubles<double>(x.Bytes, d => d), AsDoubles<double>(y.Bytes, d => d)),
            ElementType.Float16 => (AsDoubles<Half>(x.Bytes, h => (double)h), AsDoubles<Half>(y.Bytes, h => (double)h)),
            ElementType.BFloat16 => (AsDoubles<ushort>(x.Bytes, BFloat16ToDouble), AsDoubles<ushort>(y.Bytes, BFloat16ToDouble)),
            _ => (null, null),
        };
        if (ex is null || ey is null)
        {
            return $"{x.Type.DisplayName()} elements differ";
        }
        for (var i = 0; i < ex.Length; i++)
        {
            if (!tolerance.Agrees(ex[i], ey[i]))
            {
                return $"element {i}: {ey[i]:G9}, expected {ex[i]:G9}";
            }
        }
        return null;
    }

    private static double[] AsDoubles<T>(byte[] bytes, Func<T, double> widen) where T : unmanaged =>
        MemoryMarshal.Cast<byte, T>(bytes).ToArray().Select(widen).ToArray();

    private static double BFloat16ToDouble(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);
}

/// <summary>
/// How close two floating-point elements must be: exact (NaN equals NaN) or |a − b| ≤ atol + rtol·|b|; or, for
/// random outputs, only type and shape.
/// </summary>
public sealed record Tolerance(double Relative, double Absolute, bool ValuesMatter = true)
{
    public static Tolerance Exact { get; } = new(0, 0);

    public static Tolerance TypeAndShape { get; } = new(0, 0, ValuesMatter: false);

    /// <summary>The ONNX backend test runner's defaults (onnx/backend/test/case/node: rtol 1e-3, atol 1e-7).</summary>
    public static Tolerance Reference { get; } = new(1e-3, 1e-7);

    public bool Agrees(double expected, double actual)
    {
        if (double.IsNaN(expected) || double.IsNaN(actual))
        {
            return double.IsNaN(expected) && double.IsNaN(actual);
        }
        if (expected.Equals(actual))
        {
            return true;
        }
        return Math.Abs(expected - actual) <= Absolute + Relative * Math.Abs(expected);
    }
}
