using Google.Protobuf;
using SharpQuant.Onnx;
using SharpQuant.Tests.Support;
using Proto = global::Onnx;

namespace SharpQuant.Tests.Onnx;

/// <summary>Every kind of bad model is a typed exception with a message that says what is wrong.</summary>
public class BadInputTests
{
    [Fact]
    public void NotAnOnnxFile()
    {
        using var temp = TestData.NewTempFolder();
        var path = temp.File("notes.onnx");
        File.WriteAllText(path, "these are not the weights you are looking for\n");
        var e = Assert.Throws<InvalidModelException>(() => OnnxModel.Load(path));
        Assert.Contains("notes.onnx", e.Message);
    }

    [Fact]
    public void TruncatedModel()
    {
        var bytes = File.ReadAllBytes(TestModels.ResNet18Path);
        var truncated = bytes.AsSpan(0, bytes.Length / 3).ToArray();
        var e = Assert.ThrowsAny<SharpQuantException>(() => OnnxModel.Load(truncated, "truncated.onnx"));
        Assert.Matches("truncated|not a readable|nothing produces|corrupt", e.Message);
    }

    [Fact]
    public void MissingFile()
    {
        var e = Assert.Throws<InvalidModelException>(() => OnnxModel.Load("/nonexistent/folder/model.onnx"));
        Assert.Contains("does not exist", e.Message);
    }

    [Fact]
    public void GraphWithACycleNamesTheNodes()
    {
        var model = ProtoModels.Model(13,
            ProtoModels.Node("Add", "first", ["x", "b"], ["a"]),
            ProtoModels.Node("Relu", "second", ["a"], ["b"]));
        model.Graph.Input.Add(ProtoModels.FloatValue("x", 1));
        model.Graph.Output.Add(ProtoModels.FloatValue("b", 1));
        var e = Assert.Throws<InvalidModelException>(() => OnnxModel.Load(model.Bytes()));
        Assert.Contains("cycle", e.Message);
        Assert.Contains("first", e.Message);
        Assert.Contains("second", e.Message);
    }

    [Fact]
    public void InputThatNothingProducesIsNamed()
    {
        var model = ProtoModels.Model(13, ProtoModels.Node("Add", "adder", ["x", "ghost"], ["y"]));
        model.Graph.Input.Add(ProtoModels.FloatValue("x", 1));
        model.Graph.Output.Add(ProtoModels.FloatValue("y", 1));
        var e = Assert.Throws<InvalidModelException>(() => OnnxModel.Load(model.Bytes()));
        Assert.Contains("adder", e.Message);
        Assert.Contains("'ghost'", e.Message);
        Assert.Contains("nothing produces it", e.Message);
    }

    [Fact]
    public void OpOfARuntimeDomainLoadsAndIsNamedByPassesThatNeedIt()
    {
        // ONNX Runtime's own domain: its ops are left to ONNX Runtime (unknown custom domains are refused on load).
        var model = ProtoModels.Model(13, ProtoModels.Node("FrobnicateV2", "mystery", ["x"], ["y"], domain: "com.microsoft"));
        model.OpsetImport.Add(new Proto.OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
        model.Graph.Input.Add(ProtoModels.FloatValue("x", 1));
        model.Graph.Output.Add(ProtoModels.FloatValue("y", 1));
        var graph = OnnxModel.Load(model.Bytes());
        Assert.Single(OnnxOps.UnknownNodes(graph));
        Assert.Contains("com.microsoft.FrobnicateV2 at 'mystery'", GraphSummary.Of(graph).UnknownOps);
        var e = Assert.Throws<UnsupportedOpException>(() => OnnxOps.RequireKnown(graph, "fold"));
        Assert.Equal("com.microsoft.FrobnicateV2", e.OpType);
        Assert.Equal("mystery", e.NodeName);
        Assert.Contains("unsupported op 'com.microsoft.FrobnicateV2' at node 'mystery'", e.Message);
    }

    [Fact]
    public void UnsupportedOpsetIsRefused()
    {
        var model = ProtoModels.AddRelu();
        model.OpsetImport[0].Version = 24;
        var e = Assert.Throws<InvalidModelException>(() => OnnxModel.Load(model.Bytes()));
        Assert.Equal("the model uses ONNX opset 24; SharpQuant reads opsets 1 to 23", e.Message);
        model.OpsetImport[0].Version = 0;
        Assert.Contains("opset 0", Assert.Throws<InvalidModelException>(() => OnnxModel.Load(model.Bytes())).Message);
    }

    private static Proto.ModelProto WithExternalWeight(string location) => ExternalDataModels.WithExternalConstant(location);

    private static string WriteModel(TempFolder temp, Proto.ModelProto model, string name = "model.onnx")
    {
        var path = temp.File(name);
        File.WriteAllBytes(path, model.ToByteArray());
        return path;
    }

    [Fact]
    public void ExternalDataInsideTheFolderIsRead()
    {
        using var temp = TestData.NewTempFolder();
        var data = new float[] { 5f, 6f, 7f, 8f };
        File.WriteAllBytes(temp.File("weights.bin"), System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()).ToArray());
        var graph = OnnxModel.Load(WriteModel(temp, WithExternalWeight("weights.bin")));
        Assert.Equal(data, graph.GetValue("c").ConstantValue!.ToArray<float>());
    }

    [Theory]
    [InlineData("../escape.bin", "outside the model folder")]
    [InlineData("sub/../../escape.bin", "outside the model folder")]
    [InlineData("/etc/passwd", "absolute location")]
    [InlineData("missing.bin", "does not exist")]
    public void ExternalDataOutsideTheFolderIsRefused(string location, string expected)
    {
        using var temp = TestData.NewTempFolder();
        var inner = Path.Combine(temp.Path, "model");
        Directory.CreateDirectory(inner);
        File.WriteAllBytes(temp.File("escape.bin"), new byte[16]);
        var path = Path.Combine(inner, "model.onnx");
        File.WriteAllBytes(path, WithExternalWeight(location).ToByteArray());
        var e = Assert.Throws<ExternalDataException>(() => OnnxModel.Load(path));
        Assert.Contains(expected, e.Message);
        Assert.Contains(location, e.Message);
    }

    [Fact]
    public void ExternalDataThroughALinkThatLeavesTheFolderIsRefused()
    {
        using var temp = TestData.NewTempFolder();
        var inner = Path.Combine(temp.Path, "model");
        Directory.CreateDirectory(inner);
        File.WriteAllBytes(temp.File("secret.bin"), new byte[16]);
        File.CreateSymbolicLink(Path.Combine(inner, "weights.bin"), temp.File("secret.bin"));
        var path = Path.Combine(inner, "model.onnx");
        File.WriteAllBytes(path, WithExternalWeight("weights.bin").ToByteArray());
        var e = Assert.Throws<ExternalDataException>(() => OnnxModel.Load(path));
        Assert.Contains("leads outside", e.Message);
    }

    [Fact]
    public void TensorWithTooFewElementsIsRefused()
    {
        var model = ProtoModels.AddRelu();
        model.Graph.Initializer[0].FloatData.RemoveAt(3);
        var e = Assert.Throws<InvalidModelException>(() => OnnxModel.Load(model.Bytes()));
        Assert.Contains("'c'", e.Message);
    }
}
