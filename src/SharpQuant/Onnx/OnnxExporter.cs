using Google.Protobuf;
using Proto = global::Onnx;

namespace SharpQuant.Onnx;

/// <summary>Writes the IR back to an ONNX ModelProto: constants become initializers, opsets and IR version are kept.</summary>
internal static class OnnxExporter
{
    /// <param name="extraOutputs">Intermediate values to expose as additional graph outputs (taps).</param>
    public static Proto.ModelProto ToModelProto(Graph graph, IEnumerable<Value>? extraOutputs = null)
    {
        var info = graph.Info;
        var model = new Proto.ModelProto
        {
            IrVersion = info.IrVersion,
            ProducerName = info.ProducerName,
            ProducerVersion = info.ProducerVersion,
            Domain = info.Domain,
            ModelVersion = info.ModelVersion,
            DocString = info.DocString,
        };
        foreach (var (domain, version) in info.Opsets)
        {
            model.OpsetImport.Add(new Proto.OperatorSetIdProto { Domain = domain, Version = version });
        }
        foreach (var (k, v) in info.MetadataProps)
        {
            model.MetadataProps.Add(new Proto.StringStringEntryProto { Key = k, Value = v });
        }
        model.Functions.AddRange(info.Functions.Cast<Proto.FunctionProto>());

        var g = new Proto.GraphProto { Name = info.GraphName };
        model.Graph = g;
        foreach (var input in graph.Inputs)
        {
            g.Input.Add(ToValueInfo(input));
        }
        // Only constants that something reads are written; an unread one is dead weight in the file.
        var constants = graph.Constants.Where(c => c.Uses.Count > 0 || c.IsGraphOutput).OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
        foreach (var c in constants)
        {
            g.Initializer.Add(TensorProtoConverter.ToProto(c.ConstantValue!, c.Name));
            // IR versions before 4 require every initializer to be a graph input as well.
            if (info.IrVersion < 4)
            {
                g.Input.Add(ToValueInfo(c));
            }
        }
        // An input's default is an initializer under the input's name: the input stays an input that may be fed.
        foreach (var input in graph.Inputs.Where(i => i.DefaultValue is not null))
        {
            g.Initializer.Add(TensorProtoConverter.ToProto(input.DefaultValue!, input.Name));
        }
        foreach (var node in graph.Nodes)
        {
            g.Node.Add(ToNodeProto(node));
        }
        // The graph's outputs are written as they are, a value listed twice included (that is the model's interface);
        // taps are added where they are not outputs already.
        var outputNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var output in graph.Outputs)
        {
            g.Output.Add(ToValueInfo(output));
            outputNames.Add(output.Name);
        }
        foreach (var output in extraOutputs ?? [])
        {
            if (outputNames.Add(output.Name))
            {
                g.Output.Add(ToValueInfo(output));
            }
        }
        foreach (var node in graph.Nodes)
        {
            foreach (var output in node.Outputs)
            {
                if (!outputNames.Contains(output.Name) && (output.ElementType != ElementType.Undefined || output.NonTensorType is not null))
                {
                    g.ValueInfo.Add(ToValueInfo(output));
                }
            }
        }
        return model;
    }

    private static Proto.NodeProto ToNodeProto(Node node)
    {
        var n = new Proto.NodeProto { OpType = node.OpType, Domain = node.Domain, Name = node.Name };
        if (node.DocString is not null)
        {
            n.DocString = node.DocString;
        }
        n.Input.AddRange(node.Inputs.Select(i => i?.Name ?? ""));
        // Trailing omitted inputs are dropped rather than written as empty names.
        while (n.Input.Count > 0 && n.Input[^1].Length == 0)
        {
            n.Input.RemoveAt(n.Input.Count - 1);
        }
        n.Output.AddRange(node.Outputs.Select(o => o.Name));
        foreach (var (name, value) in node.Attributes.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            n.Attribute.Add(AttributeConverter.ToProto(name, value));
        }
        return n;
    }

    private static Proto.ValueInfoProto ToValueInfo(Value value)
    {
        var vi = new Proto.ValueInfoProto { Name = value.Name };
        if (value.NonTensorType is Proto.TypeProto type)
        {
            vi.Type = type.Clone();
            return vi;
        }
        if (value.ElementType == ElementType.Undefined)
        {
            return vi;
        }
        var tensorType = new Proto.TypeProto.Types.Tensor { ElemType = (int)value.ElementType };
        if (value.Shape is not null)
        {
            var shape = new Proto.TensorShapeProto();
            foreach (var d in value.Shape)
            {
                var dim = new Proto.TensorShapeProto.Types.Dimension();
                if (d.Size is { } size)
                {
                    dim.DimValue = size;
                }
                else if (d.Symbol is { } symbol)
                {
                    dim.DimParam = symbol;
                }
                shape.Dim.Add(dim);
            }
            tensorType.Shape = shape;
        }
        vi.Type = new Proto.TypeProto { TensorType = tensorType };
        return vi;
    }

    public static byte[] ToBytes(Graph graph, IEnumerable<Value>? extraOutputs = null) =>
        ToModelProto(graph, extraOutputs).ToByteArray();
}
