using Google.Protobuf;
using Proto = global::Onnx;
using Kind = global::Onnx.AttributeProto.Types.AttributeType;

namespace SharpQuant.Onnx;

/// <summary>Converts node attributes between ONNX's AttributeProto and the IR's typed values.</summary>
internal static class AttributeConverter
{
    public static AttributeValue ToValue(Proto.AttributeProto a, ExternalDataResolver? externalData)
    {
        var kind = a.Type == Kind.Undefined ? GuessKind(a) : a.Type;
        // A typed attribute without its value (a truncated or hand-edited file) would otherwise be a null message.
        if (kind switch { Kind.Tensor => a.T is null, Kind.Graph => a.G is null, Kind.SparseTensor => a.SparseTensor is null, Kind.TypeProto => a.Tp is null, _ => false })
        {
            throw new InvalidModelException($"attribute '{a.Name}' has type {kind} but holds no value");
        }
        return kind switch
        {
            Kind.Float => AttributeValue.Of(a.F),
            Kind.Int => AttributeValue.Of(a.I),
            Kind.String => AttributeValue.Of(a.S.ToStringUtf8()),
            Kind.Tensor => AttributeValue.Of(TensorProtoConverter.ToTensor(a.T!, externalData)),
            Kind.Floats => AttributeValue.Of(a.Floats.ToArray()),
            Kind.Ints => AttributeValue.Of(a.Ints.ToArray()),
            Kind.Strings => AttributeValue.Of(a.Strings.Select(s => s.ToStringUtf8()).ToArray()),
            Kind.Tensors => new AttributeValue(AttributeKind.Tensors, a.Tensors.Select(t => TensorProtoConverter.ToTensor(t, externalData)).ToArray()),
            Kind.Graph => new AttributeValue(AttributeKind.Graph, a.G!),
            Kind.Graphs => new AttributeValue(AttributeKind.Graphs, a.Graphs.Cast<IMessage>().ToArray()),
            Kind.SparseTensor => new AttributeValue(AttributeKind.SparseTensor, a.SparseTensor!),
            Kind.SparseTensors => new AttributeValue(AttributeKind.SparseTensors, a.SparseTensors.Cast<IMessage>().ToArray()),
            Kind.TypeProto => new AttributeValue(AttributeKind.TypeProto, a.Tp!),
            Kind.TypeProtos => new AttributeValue(AttributeKind.TypeProtos, a.TypeProtos.Cast<IMessage>().ToArray()),
            _ => throw new InvalidModelException($"attribute '{a.Name}' has unknown type {a.Type}"),
        };
    }

    // Files written before attribute types were mandatory (IR version 1 and 2) leave the type out.
    private static Kind GuessKind(Proto.AttributeProto a) =>
        a.Floats.Count > 0 ? Kind.Floats
        : a.Ints.Count > 0 ? Kind.Ints
        : a.Strings.Count > 0 ? Kind.Strings
        : a.Tensors.Count > 0 ? Kind.Tensors
        : a.Graphs.Count > 0 ? Kind.Graphs
        : a.T is not null ? Kind.Tensor
        : a.G is not null ? Kind.Graph
        : !a.S.IsEmpty ? Kind.String
        : a.F != 0 ? Kind.Float
        : Kind.Int;

    public static Proto.AttributeProto ToProto(string name, AttributeValue value)
    {
        var a = new Proto.AttributeProto { Name = name };
        switch (value.Value)
        {
            case long l:
                a.Type = Kind.Int;
                a.I = l;
                break;
            case float f:
                a.Type = Kind.Float;
                a.F = f;
                break;
            case string s:
                a.Type = Kind.String;
                a.S = ByteString.CopyFromUtf8(s);
                break;
            case long[] ls:
                a.Type = Kind.Ints;
                a.Ints.AddRange(ls);
                break;
            case float[] fs:
                a.Type = Kind.Floats;
                a.Floats.AddRange(fs);
                break;
            case string[] ss:
                a.Type = Kind.Strings;
                a.Strings.AddRange(ss.Select(ByteString.CopyFromUtf8));
                break;
            case Tensor t:
                a.Type = Kind.Tensor;
                a.T = TensorProtoConverter.ToProto(t, "");
                break;
            case Tensor[] ts:
                a.Type = Kind.Tensors;
                a.Tensors.AddRange(ts.Select(t => TensorProtoConverter.ToProto(t, "")));
                break;
            case Proto.GraphProto g:
                a.Type = Kind.Graph;
                a.G = g;
                break;
            case Proto.SparseTensorProto st:
                a.Type = Kind.SparseTensor;
                a.SparseTensor = st;
                break;
            case Proto.TypeProto tp:
                a.Type = Kind.TypeProto;
                a.Tp = tp;
                break;
            case IMessage[] messages when value.Kind == AttributeKind.Graphs:
                a.Type = Kind.Graphs;
                a.Graphs.AddRange(messages.Cast<Proto.GraphProto>());
                break;
            case IMessage[] messages when value.Kind == AttributeKind.SparseTensors:
                a.Type = Kind.SparseTensors;
                a.SparseTensors.AddRange(messages.Cast<Proto.SparseTensorProto>());
                break;
            case IMessage[] messages when value.Kind == AttributeKind.TypeProtos:
                a.Type = Kind.TypeProtos;
                a.TypeProtos.AddRange(messages.Cast<Proto.TypeProto>());
                break;
            default:
                throw new InvalidOperationException($"attribute '{name}' holds a {value.Value.GetType().Name}, which has no ONNX form");
        }
        return a;
    }
}
