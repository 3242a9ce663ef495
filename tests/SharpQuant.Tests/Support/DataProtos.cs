using Google.Protobuf;
using SharpQuant.Onnx;
using Proto = global::Onnx;

namespace SharpQuant.Tests.Support;

/// <summary>
/// Reads the backend test data files (input_N.pb, output_N.pb): a TensorProto, or, for sequence- and
/// optional-typed values, a SequenceProto or OptionalProto of onnx-data.proto. OnnxSharp has no classes for the
/// latter two, so their few fields are read here with the protobuf wire reader.
/// </summary>
public static class DataProtos
{
    // onnx-data.proto: SequenceProto and OptionalProto share these field numbers.
    private const int NameField = 1;
    private const int ElemTypeField = 2;
    private const int TensorField = 3;
    private const int SequenceField = 5;
    private const int OptionalField = 7;

    /// <summary>Reads a data file as the kind of value <paramref name="type"/> declares (a tensor where the type is missing).</summary>
    public static DataValue Read(byte[] bytes, Proto.TypeProto? type) => type?.ValueCase switch
    {
        Proto.TypeProto.ValueOneofCase.SequenceType => ReadSequence(bytes),
        Proto.TypeProto.ValueOneofCase.OptionalType => ReadOptional(bytes),
        _ => ReadTensor(bytes),
    };

    /// <summary>The name a data file gives its value ("" where it has none), read as the kind <paramref name="type"/> declares.</summary>
    public static string NameOf(byte[] bytes, Proto.TypeProto? type)
    {
        if (type?.ValueCase is not (Proto.TypeProto.ValueOneofCase.SequenceType or Proto.TypeProto.ValueOneofCase.OptionalType))
        {
            return Proto.TensorProto.Parser.ParseFrom(bytes).Name;
        }
        // SequenceProto and OptionalProto hold the name in field 1.
        var input = new CodedInputStream(bytes);
        while (input.ReadTag() is var tag and not 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == NameField && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                return input.ReadString();
            }
            input.SkipLastField();
        }
        return "";
    }

    public static TensorData ReadTensor(byte[] bytes) => ToTensorData(Proto.TensorProto.Parser.ParseFrom(bytes));

    public static TensorData ToTensorData(Proto.TensorProto proto)
    {
        var type = (ElementType)proto.DataType;
        var shape = proto.Dims.ToArray();
        if (type == ElementType.String)
        {
            return new TensorData(type, shape, [], proto.StringData.Select(s => s.ToStringUtf8()).ToArray());
        }
        var tensor = TensorProtoConverter.ToTensor(proto, externalData: null);
        return new TensorData(type, shape, tensor.Bytes.ToArray());
    }

    private static SequenceData ReadSequence(byte[] bytes)
    {
        var items = new List<DataValue>();
        var input = new CodedInputStream(bytes);
        while (input.ReadTag() is var tag and not 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case TensorField:
                    items.Add(ToTensorData(Proto.TensorProto.Parser.ParseFrom(input.ReadBytes())));
                    break;
                case SequenceField:
                    items.Add(ReadSequence(input.ReadBytes().ToByteArray()));
                    break;
                case OptionalField:
                    items.Add(ReadOptional(input.ReadBytes().ToByteArray()));
                    break;
                case NameField or ElemTypeField:
                    input.SkipLastField();
                    break;
                default:
                    throw new NotSupportedException($"sequence field {WireFormat.GetTagFieldNumber(tag)} (sparse tensors, maps) is not read by the tests");
            }
        }
        return new SequenceData(items);
    }

    private static OptionalData ReadOptional(byte[] bytes)
    {
        DataValue? item = null;
        var input = new CodedInputStream(bytes);
        while (input.ReadTag() is var tag and not 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case TensorField:
                    item = ToTensorData(Proto.TensorProto.Parser.ParseFrom(input.ReadBytes()));
                    break;
                case SequenceField:
                    item = ReadSequence(input.ReadBytes().ToByteArray());
                    break;
                case OptionalField:
                    item = ReadOptional(input.ReadBytes().ToByteArray());
                    break;
                case NameField or ElemTypeField:
                    input.SkipLastField();
                    break;
                default:
                    throw new NotSupportedException($"optional field {WireFormat.GetTagFieldNumber(tag)} (sparse tensors, maps) is not read by the tests");
            }
        }
        return new OptionalData(item);
    }
}
