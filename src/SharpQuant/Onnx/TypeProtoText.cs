using Google.Protobuf;
using Proto = global::Onnx;

namespace SharpQuant.Onnx;

/// <summary>
/// Short text for the ONNX types the IR keeps as TypeProto (<see cref="Value.NonTensorType"/>), as summaries show
/// them: <c>seq(float32[2])</c>, <c>optional(int64)</c>, <c>map(int64, float32)</c>, <c>sparse(float32)</c>.
/// </summary>
internal static class TypeProtoText
{
    public static string Format(IMessage type) => type is Proto.TypeProto proto ? Format(proto) : "?";

    private static string Format(Proto.TypeProto type) => type.ValueCase switch
    {
        Proto.TypeProto.ValueOneofCase.TensorType => Tensor(type.TensorType.ElemType, type.TensorType.Shape),
        Proto.TypeProto.ValueOneofCase.SequenceType => $"seq({Inner(type.SequenceType.ElemType)})",
        Proto.TypeProto.ValueOneofCase.OptionalType => $"optional({Inner(type.OptionalType.ElemType)})",
        Proto.TypeProto.ValueOneofCase.MapType => $"map({((ElementType)type.MapType.KeyType).DisplayName()}, {Inner(type.MapType.ValueType)})",
        Proto.TypeProto.ValueOneofCase.SparseTensorType => $"sparse({Tensor(type.SparseTensorType.ElemType, type.SparseTensorType.Shape)})",
        _ => "?",
    };

    private static string Inner(Proto.TypeProto? type) => type is null ? "?" : Format(type);

    private static string Tensor(int elementType, Proto.TensorShapeProto? shape)
    {
        var name = ((ElementType)elementType).DisplayName();
        if (shape is null)
        {
            return name;
        }
        var dims = shape.Dim.Select(d => d.HasDimValue ? d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture) : d.HasDimParam && d.DimParam.Length > 0 ? d.DimParam : "?");
        return $"{name}[{string.Join(", ", dims)}]";
    }
}
