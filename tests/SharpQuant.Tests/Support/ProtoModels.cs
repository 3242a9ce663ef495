using Google.Protobuf;
using Proto = global::Onnx;

namespace SharpQuant.Tests.Support;

/// <summary>Hand-written ONNX protobuf models for tests that need files the IR could not produce (cycles, dangling inputs).</summary>
public static class ProtoModels
{
    public static Proto.ModelProto Model(long opset, params Proto.NodeProto[] nodes)
    {
        var graph = new Proto.GraphProto { Name = "test" };
        graph.Node.AddRange(nodes);
        var model = new Proto.ModelProto { IrVersion = 8, Graph = graph, ProducerName = "tests" };
        model.OpsetImport.Add(new Proto.OperatorSetIdProto { Domain = "", Version = opset });
        return model;
    }

    public static Proto.NodeProto Node(string op, string name, string[] inputs, string[] outputs, string domain = "")
    {
        var n = new Proto.NodeProto { OpType = op, Name = name, Domain = domain };
        n.Input.AddRange(inputs);
        n.Output.AddRange(outputs);
        return n;
    }

    public static Proto.ValueInfoProto FloatValue(string name, params long[] shape)
    {
        var tensorShape = new Proto.TensorShapeProto();
        foreach (var d in shape)
        {
            tensorShape.Dim.Add(new Proto.TensorShapeProto.Types.Dimension { DimValue = d });
        }
        return new Proto.ValueInfoProto
        {
            Name = name,
            Type = new Proto.TypeProto { TensorType = new Proto.TypeProto.Types.Tensor { ElemType = 1, Shape = tensorShape } },
        };
    }

    public static Proto.TensorProto FloatTensor(string name, float[] data, params long[] shape)
    {
        var t = new Proto.TensorProto { Name = name, DataType = 1 };
        t.Dims.AddRange(shape);
        t.FloatData.AddRange(data);
        return t;
    }

    /// <summary>y = Relu(x + c) on a [1, 4] input: small, valid, and runnable.</summary>
    public static Proto.ModelProto AddRelu()
    {
        var model = Model(13,
            Node("Add", "add", ["x", "c"], ["s"]),
            Node("Relu", "relu", ["s"], ["y"]));
        model.Graph.Input.Add(FloatValue("x", 1, 4));
        model.Graph.Output.Add(FloatValue("y", 1, 4));
        model.Graph.Initializer.Add(FloatTensor("c", [1f, -2f, 3f, -4f], 4));
        return model;
    }

    public static byte[] Bytes(this Proto.ModelProto model) => model.ToByteArray();
}
