using Microsoft.ML.OnnxRuntime;
using SharpQuant.Onnx;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Onnx;

/// <summary>Import then export must give the same outputs as the original file, bit for bit, in ONNX Runtime.</summary>
public class RoundTripTests
{
    private static float[] RunBare(byte[] model, string inputName, Tensor input)
    {
        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var session = new InferenceSession(model, options);
        using var value = OrtValue.CreateTensorValueFromMemory(input.ToArray<float>(), input.Shape.ToArray());
        using var outputs = session.Run(new RunOptions(), [inputName], [value], [session.OutputNames[0]]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    [Fact]
    public void ResNet18RoundTripIsBitExact()
    {
        var original = File.ReadAllBytes(TestModels.ResNet18Path);
        var graph = OnnxModel.Load(original);
        var exported = OnnxModel.ToBytes(graph);
        var input = TestModels.ResNet18Input(seed: 1);
        var expected = RunBare(original, "Input247", input);
        var actual = RunBare(exported, "Input247", input);
        Assert.Equal(512, expected.Length);
        Assert.Equal(expected, actual);

        var reloaded = OnnxModel.Load(exported);
        Assert.Equal(3, reloaded.Info.IrVersion);
        Assert.Equal(8, reloaded.Info.OnnxOpset);
        Assert.Equal("CNTK", reloaded.Info.ProducerName);
        Assert.Equal(graph.Nodes.Count, reloaded.Nodes.Count);
        Assert.Equal(graph.Nodes.Select(n => n.ModuleName), reloaded.Nodes.Select(n => n.ModuleName));
    }

    [SkippableFact]
    public void PpocrRoundTripIsBitExactWithConstantNodesAsConstants()
    {
        TestData.RequireSharedData();
        var original = File.ReadAllBytes(TestData.PpocrModelPath);
        var graph = OnnxModel.Load(TestData.PpocrModelPath);
        Assert.DoesNotContain(graph.Nodes, n => n.OpType == "Constant");
        Assert.Equal(471 - 250, graph.Nodes.Count);
        var exported = OnnxModel.ToBytes(graph);
        var input = TestModels.PpocrInput(seed: 2, batch: 2);
        Assert.Equal(RunBare(original, "x", input), RunBare(exported, "x", input));
        Assert.Equal(9, OnnxModel.Load(exported).Info.OnnxOpset);
    }

    [Fact]
    public void SaveWritesAtomicallyAndReloads()
    {
        using var temp = TestData.NewTempFolder();
        var graph = OnnxModel.Load(ProtoModels.AddRelu().Bytes());
        var path = temp.File("m.onnx");
        OnnxModel.Save(graph, path);
        Assert.Single(Directory.GetFiles(temp.Path));
        var back = OnnxModel.Load(path);
        Assert.Equal(new[] { "Add", "Relu" }, back.Nodes.Select(n => n.OpType));
        Assert.Equal(new[] { 1f, -2f, 3f, -4f }, back.GetValue("c").ConstantValue!.ToArray<float>());
    }

    [Fact]
    public void AllAttributeKindsRoundTrip()
    {
        var model = ProtoModels.AddRelu();
        var relu = model.Graph.Node[1];
        var kinds = global::Onnx.AttributeProto.Types.AttributeType.Float;
        relu.Attribute.Add(new global::Onnx.AttributeProto { Name = "f", Type = kinds, F = 0.5f });
        relu.Attribute.Add(new global::Onnx.AttributeProto { Name = "i", Type = global::Onnx.AttributeProto.Types.AttributeType.Int, I = -3 });
        relu.Attribute.Add(new global::Onnx.AttributeProto { Name = "s", Type = global::Onnx.AttributeProto.Types.AttributeType.String, S = Google.Protobuf.ByteString.CopyFromUtf8("hi") });
        var ints = new global::Onnx.AttributeProto { Name = "is", Type = global::Onnx.AttributeProto.Types.AttributeType.Ints };
        ints.Ints.AddRange([1, 2, 3]);
        relu.Attribute.Add(ints);
        var floats = new global::Onnx.AttributeProto { Name = "fs", Type = global::Onnx.AttributeProto.Types.AttributeType.Floats };
        floats.Floats.AddRange([1.5f, 2.5f]);
        relu.Attribute.Add(floats);
        var strings = new global::Onnx.AttributeProto { Name = "ss", Type = global::Onnx.AttributeProto.Types.AttributeType.Strings };
        strings.Strings.Add(Google.Protobuf.ByteString.CopyFromUtf8("a"));
        relu.Attribute.Add(strings);
        relu.Attribute.Add(new global::Onnx.AttributeProto { Name = "t", Type = global::Onnx.AttributeProto.Types.AttributeType.Tensor, T = ProtoModels.FloatTensor("", [7f], 1) });
        relu.Attribute.Add(new global::Onnx.AttributeProto { Name = "g", Type = global::Onnx.AttributeProto.Types.AttributeType.Graph, G = new global::Onnx.GraphProto { Name = "sub" } });

        var graph = OnnxModel.Load(model.Bytes());
        var node = graph.Nodes[1];
        Assert.Equal(0.5f, node.GetFloat("f", 0));
        Assert.Equal(-3, node.GetInt("i", 0));
        Assert.Equal("hi", node.GetString("s", ""));
        Assert.Equal(new long[] { 1, 2, 3 }, node.GetInts("is"));
        Assert.Equal(new[] { 1.5f, 2.5f }, node.Attributes["fs"].AsFloats());
        Assert.Equal(new[] { "a" }, node.Attributes["ss"].AsStrings());
        Assert.Equal(new[] { 7f }, node.Attributes["t"].AsTensor().ToArray<float>());
        Assert.Equal(AttributeKind.Graph, node.Attributes["g"].Kind);

        var back = global::Onnx.ModelProto.Parser.ParseFrom(OnnxModel.ToBytes(graph));
        var attrs = back.Graph.Node[1].Attribute.ToDictionary(a => a.Name);
        Assert.Equal(8, attrs.Count);
        Assert.Equal("sub", attrs["g"].G.Name);
        Assert.Equal(new long[] { 1, 2, 3 }, attrs["is"].Ints);
    }

    [Fact]
    public void ConstantNodeAttributeFormsBecomeConstants()
    {
        var model = ProtoModels.Model(13,
            ProtoModels.Node("Constant", "k", [], ["k"]),
            ProtoModels.Node("Add", "add", ["x", "k"], ["y"]));
        model.Graph.Node[0].Attribute.Add(new global::Onnx.AttributeProto { Name = "value_floats", Type = global::Onnx.AttributeProto.Types.AttributeType.Floats, Floats = { 1f, 2f } });
        model.Graph.Input.Add(ProtoModels.FloatValue("x", 2));
        model.Graph.Output.Add(ProtoModels.FloatValue("y", 2));
        var graph = OnnxModel.Load(model.Bytes());
        Assert.Single(graph.Nodes);
        Assert.Equal(new[] { 1f, 2f }, graph.GetValue("k").ConstantValue!.ToArray<float>());
    }
}
