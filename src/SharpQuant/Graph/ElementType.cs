namespace SharpQuant;

/// <summary>Tensor element types, numbered as ONNX's TensorProto.DataType so conversion is a cast.</summary>
public enum ElementType
{
    Undefined = 0,
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    UInt16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Double = 11,
    UInt32 = 12,
    UInt64 = 13,
    Complex64 = 14,
    Complex128 = 15,
    BFloat16 = 16,
    Float8E4M3FN = 17,
    Float8E4M3FNUZ = 18,
    Float8E5M2 = 19,
    Float8E5M2FNUZ = 20,
    UInt4 = 21,
    Int4 = 22,
}

public static class ElementTypeExtensions
{
    /// <summary>Bytes per element, or 0 where elements are not fixed-size bytes (strings, 4-bit types).</summary>
    public static int SizeInBytes(this ElementType type) => type switch
    {
        ElementType.Float or ElementType.Int32 or ElementType.UInt32 => 4,
        ElementType.UInt8 or ElementType.Int8 or ElementType.Bool => 1,
        ElementType.Float8E4M3FN or ElementType.Float8E4M3FNUZ or ElementType.Float8E5M2 or ElementType.Float8E5M2FNUZ => 1,
        ElementType.UInt16 or ElementType.Int16 or ElementType.Float16 or ElementType.BFloat16 => 2,
        ElementType.Int64 or ElementType.UInt64 or ElementType.Double or ElementType.Complex64 => 8,
        ElementType.Complex128 => 16,
        _ => 0,
    };

    public static bool IsFloatingPoint(this ElementType type) =>
        type is ElementType.Float or ElementType.Double or ElementType.Float16 or ElementType.BFloat16;

    /// <summary>Lower-case ONNX spelling, as shown in tables (float32, int64, ...).</summary>
    public static string DisplayName(this ElementType type) => type switch
    {
        ElementType.Float => "float32",
        ElementType.Double => "float64",
        ElementType.Float16 => "float16",
        ElementType.BFloat16 => "bfloat16",
        _ => type.ToString().ToLowerInvariant(),
    };
}
