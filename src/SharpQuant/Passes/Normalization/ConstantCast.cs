namespace SharpQuant.Passes.Normalization;

/// <summary>
/// ONNX Cast of a constant tensor, computed in C#: between float32, float64 and the integer types SharpQuant stores.
/// Float to integer truncates toward zero (the C conversion ONNX Runtime uses); bool is 0 or 1.
/// </summary>
internal static class ConstantCast
{
    /// <summary>The cast tensor, or null when a type is not one this handles (the Cast then stays in the graph).</summary>
    public static Tensor? TryCast(Tensor source, ElementType to)
    {
        if (source.ElementType == to)
        {
            return source.Clone();
        }
        if (Read(source) is not { } values)
        {
            return null;
        }
        var shape = source.Shape.ToArray();
        return to switch
        {
            ElementType.Float => Tensor.Create(Array.ConvertAll(values, v => (float)v), shape),
            ElementType.Double => Tensor.Create(values, shape),
            ElementType.Int64 => Tensor.Create(Array.ConvertAll(values, v => checked((long)Math.Truncate(v))), shape),
            ElementType.Int32 => Tensor.Create(Array.ConvertAll(values, v => checked((int)Math.Truncate(v))), shape),
            ElementType.Int8 => Tensor.Create(Array.ConvertAll(values, v => unchecked((sbyte)(long)Math.Truncate(v))), shape),
            ElementType.UInt8 => Tensor.Create(Array.ConvertAll(values, v => unchecked((byte)(long)Math.Truncate(v))), shape),
            ElementType.Bool => Tensor.Create(Array.ConvertAll(values, v => v != 0), shape),
            _ => null,
        };
    }

    // Int64 values beyond 2^53 would lose digits through double: such tensors are left to ONNX Runtime.
    private const double ExactIntegerLimit = 9007199254740992;

    private static double[]? Read(Tensor t)
    {
        double[] values = t.ElementType switch
        {
            ElementType.Float => Array.ConvertAll(t.ToArray<float>(), v => (double)v),
            ElementType.Double => t.ToArray<double>(),
            ElementType.Int64 or ElementType.Int32 or ElementType.Int8 or ElementType.UInt8 => Array.ConvertAll(t.ToInt64Array(), v => (double)v),
            ElementType.Bool => Array.ConvertAll(t.ToArray<bool>(), v => v ? 1.0 : 0.0),
            _ => [],
        };
        if (values.Length == 0 && t.ElementCount != 0)
        {
            return null;
        }
        return t.ElementType == ElementType.Int64 && values.Any(v => Math.Abs(v) > ExactIntegerLimit) ? null : values;
    }
}
