using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Tests.Support;
using Proto = global::Onnx;

namespace SharpQuant.Tests.Onnx;

/// <summary>Models below opset 7 load as they are, except the two old forms whose meaning later opsets dropped.</summary>
public class LegacyOpsetTests
{
    private static Proto.AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = Proto.AttributeProto.Types.AttributeType.Int, I = value };

    /// <summary>y = op(x, b) at opset 6 with x [2, 3] and b [3] or [2], as a legacy-broadcast model would have it.</summary>
    private static Proto.ModelProto Binary(string op, long bSize, params Proto.AttributeProto[] attributes)
    {
        var model = ProtoModels.Model(6, ProtoModels.Node(op, "legacy", ["x", "b"], ["y"]));
        model.IrVersion = 3;
        model.Graph.Node[0].Attribute.AddRange(attributes);
        model.Graph.Input.Add(ProtoModels.FloatValue("x", 2, 3));
        model.Graph.Input.Add(ProtoModels.FloatValue("b", bSize));
        model.Graph.Output.Add(ProtoModels.FloatValue("y", 2, 3));
        return model;
    }

    [Fact]
    public void Opset6ModelsLoadAndRoundTripUnchanged()
    {
        // Suffix-matching legacy broadcast (no axis) means what numpy broadcasting means: read as it is.
        var model = Binary("Mul", 3, Int("broadcast", 1));
        var graph = OnnxModel.Load(model.Bytes());
        Assert.Equal(6, graph.Info.OnnxOpset);
        Assert.Equal(1, graph.Nodes[0].GetInt("broadcast", 0));
        var back = Proto.ModelProto.Parser.ParseFrom(OnnxModel.ToBytes(graph));
        Assert.Equal(6, back.OpsetImport.Single().Version);
        Assert.Equal(model.Graph.Node[0].Attribute, back.Graph.Node[0].Attribute);
        Assert.Equal(model.Graph.Input.Select(i => i.Name), back.Graph.Input.Select(i => i.Name));
    }

    [Fact]
    public void LegacyBroadcastAlongAnAxisIsRefusedNamingTheNode()
    {
        var e = Assert.Throws<InvalidModelException>(() => OnnxModel.Load(Binary("Add", 2, Int("broadcast", 1), Int("axis", 0)).Bytes()));
        Assert.Equal(
            "node 'legacy' (Add) broadcasts its second input along axis 0, the legacy broadcast of opset 6 that later opsets dropped; SharpQuant does not read it (convert the model to opset 7 or later)",
            e.Message);
        // From opset 7 on there is no such attribute to misread: the node is the standard op's business.
        var modern = Binary("Add", 2, Int("broadcast", 1), Int("axis", 0));
        modern.OpsetImport[0].Version = 7;
        Assert.Single(OnnxModel.Load(modern.Bytes()).Nodes);
    }

    [Theory]
    [InlineData("BatchNormalization", false)]
    [InlineData("BatchNormalization", true)]
    [InlineData("Dropout", false)]
    public void TrainingModeIsRefusedAndInferenceModeLoads(string op, bool inference)
    {
        var node = op == "Dropout"
            ? ProtoModels.Node(op, "n", ["x"], ["y"])
            : ProtoModels.Node(op, "n", ["x", "scale", "bias", "mean", "var"], ["y"]);
        if (inference)
        {
            node.Attribute.Add(Int("is_test", 1));
        }
        var model = ProtoModels.Model(6, node);
        model.Graph.Input.Add(ProtoModels.FloatValue("x", 1, 2, 1, 1));
        model.Graph.Output.Add(ProtoModels.FloatValue("y", 1, 2, 1, 1));
        if (op != "Dropout")
        {
            foreach (var name in new[] { "scale", "bias", "mean", "var" })
            {
                model.Graph.Initializer.Add(ProtoModels.FloatTensor(name, [1f, 1f], 2));
            }
        }
        if (inference)
        {
            Assert.Equal(op, OnnxModel.Load(model.Bytes()).Nodes.Single().OpType);
            return;
        }
        var e = Assert.Throws<InvalidModelException>(() => OnnxModel.Load(model.Bytes()));
        Assert.Equal(
            $"node 'n' ({op}) runs in training mode (is_test = 0, the default of opset 6); SharpQuant reads inference models only (set is_test = 1, or convert the model to opset 7 or later)",
            e.Message);
    }

    [Fact]
    public void RaisingTheOpsetFromBelow7IsRefused()
    {
        var graph = OnnxModel.Load(Binary("Mul", 3, Int("broadcast", 1)).Bytes());
        var e = Assert.Throws<SharpQuantException>(() => OpsetUpgrade.RaiseTo(graph, 13));
        Assert.Equal("raising the opset from 6 is not supported: convert the model to opset 7 or later first", e.Message);
        Assert.Equal(6, graph.Info.OnnxOpset);
    }

    [Fact]
    public void AModelOfOtherDomainsOnlyHasNoOpsetToCheck()
    {
        // The training-op models of the ONNX corpus import ai.onnx.preview.training alone.
        var model = ProtoModels.Model(13, ProtoModels.Node("Frobnicate", "f", ["x"], ["y"], domain: "ai.onnx.preview.training"));
        model.OpsetImport[0].Domain = "ai.onnx.preview.training";
        model.OpsetImport[0].Version = 1;
        model.Graph.Input.Add(ProtoModels.FloatValue("x", 2));
        model.Graph.Output.Add(ProtoModels.FloatValue("y", 2));
        var graph = OnnxModel.Load(model.Bytes());
        Assert.False(graph.Info.Opsets.ContainsKey(""));
        var back = Proto.ModelProto.Parser.ParseFrom(OnnxModel.ToBytes(graph));
        Assert.Equal(["ai.onnx.preview.training"], back.OpsetImport.Select(o => o.Domain));
    }
}
