using Google.Protobuf;
using SharpQuant.Cli;
using SharpQuant.Onnx;
using SharpQuant.Tests.Support;
using Proto = global::Onnx;
using Kind = global::Onnx.AttributeProto.Types.AttributeType;

namespace SharpQuant.Tests.Onnx;

/// <summary>
/// Issue 16, items 7–10: attributes of the wrong type or out of range, integer weights and omitted required inputs
/// are refused on load with one line naming the node and the rule (exit 2 in fold, equalize and quantize), never an
/// internal error inside a pass.
/// </summary>
public class HostileAttributeTests
{
    public static TheoryData<string> Commands() => new(HostileModels.EditingCommands.Select(c => string.Join(' ', c)));

    [Theory]
    [MemberData(nameof(Commands))]
    public void TheValidModelRunsInEveryCommand(string command)
    {
        using var temp = TestData.NewTempFolder();
        var path = temp.File("good.onnx");
        File.WriteAllBytes(path, HostileModels.ConvPair().ToByteArray());
        var output = temp.File("out.onnx");
        var stderr = new StringWriter();
        var args = command.Split(' ');
        var code = CliApp.Run([args[0], path, .. args.Skip(1), "-o", output], new StringWriter(), stderr);
        Assert.True(code == 0, stderr.ToString());
        Assert.True(File.Exists(output));
    }

    public static TheoryData<string, string> WrongGroupKinds() => new()
    {
        { "ints", "fold" }, { "ints", "equalize" }, { "ints", "quantize --data-free" },
        { "float", "fold" }, { "float", "equalize" }, { "float", "quantize --data-free" },
        { "string", "equalize" },
    };

    [Theory]
    [MemberData(nameof(WrongGroupKinds))]
    public void GroupOfTheWrongTypeIsRefused(string kind, string command)
    {
        var model = HostileModels.ConvPair();
        model.NodeNamed("c2").SetAttribute(kind switch
        {
            "ints" => HostileModels.Ints("group", 1, 1),
            "float" => HostileModels.Float("group", 1f),
            _ => new Proto.AttributeProto { Name = "group", Type = Kind.String, S = ByteString.CopyFromUtf8("1") },
        });
        HostileModels.AssertRefused(model, command.Split(' '), $"node 'c2' (Conv): attribute 'group' must be an int, got {(kind == "ints" ? "ints" : "a " + kind)}");
    }

    [Fact]
    public void AttributeOfAnUndefinedTypeNumberIsRefusedWithTheNode()
    {
        var model = HostileModels.ConvPair();
        model.NodeNamed("c2").SetAttribute(new Proto.AttributeProto { Name = "group", Type = (Kind)77, I = 1 });
        HostileModels.AssertRefused(model, ["fold"], "node 'c2' (Conv)", "attribute 'group' has unknown type 77");
    }

    [Theory]
    [InlineData(0L, "equalize", "must be a positive int32, got 0")]
    [InlineData(-2L, "equalize", "must be a positive int32, got -2")]
    [InlineData(1L << 40, "equalize", "must be a positive int32, got 1099511627776")]
    [InlineData(3L, "equalize", "group 3 does not divide the 8 output channels")]
    [InlineData(3L, "fold", "group 3 does not divide the 8 output channels")]
    [InlineData(2L, "quantize --data-free", "has 8 channels but weight 'c2.w' [8, 8, 1, 1] with group 2 reads 16")]
    public void GroupOutOfRangeIsRefused(long group, string command, string expected)
    {
        var model = HostileModels.ConvPair();
        model.NodeNamed("c2").SetAttribute(HostileModels.Int("group", group));
        HostileModels.AssertRefused(model, command.Split(' '), "node 'c2' (Conv)", expected);
    }

    [Fact]
    public void UntypedEmptyGroupIsRefusedInEqualize()
    {
        // An attribute with no type and no value reads as the int 0 (IR versions 1 and 2 leave types out).
        var model = HostileModels.ConvPair();
        model.NodeNamed("c2").SetAttribute(new Proto.AttributeProto { Name = "group" });
        HostileModels.AssertRefused(model, ["equalize"], "node 'c2' (Conv): attribute 'group' must be a positive int32, got 0");
    }

    [Theory]
    [InlineData("c2.w", "fold", "input 1 'c2.w' is int32; Conv takes float16, float32, float64 or bfloat16")]
    [InlineData("c2.w", "equalize", "input 1 'c2.w' is int32")]
    [InlineData("c2.b", "quantize --data-free", "input 2 'c2.b' is int32")]
    [InlineData("c1.b", "equalize", "input 2 'c1.b' is int32")]
    public void IntegerWeightOrBiasIsRefused(string tensor, string command, string expected)
    {
        var model = HostileModels.ConvPair();
        var t = model.Initializer(tensor);
        var count = t.FloatData.Count;
        t.FloatData.Clear();
        t.DataType = (int)ElementType.Int32;
        t.Int32Data.AddRange(Enumerable.Range(0, count));
        HostileModels.AssertRefused(model, command.Split(' '), $"node '{tensor[..2]}' (Conv)", expected);
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void OutputNamedEmptyReadAsAnOmittedInputIsRefused(string command)
    {
        // c2's weight comes from a node whose output is named "", which c2 then reads as "" (an omitted input).
        var model = HostileModels.ConvPair();
        var identity = ProtoModels.Node("Identity", "c2.w", ["c2.w"], [""]);
        model.Graph.Node.Insert(0, identity);
        var c2 = model.NodeNamed("c2");
        c2.Input[1] = "";
        HostileModels.AssertRefused(model, command.Split(' '), "node 'c2' (Conv): input 1 is omitted (an empty name), but Conv requires it");
    }

    [Fact]
    public void ConvWithOneInputOrFourIsRefused()
    {
        var model = HostileModels.ConvPair();
        model.NodeNamed("c2").Input.RemoveAt(2);
        model.NodeNamed("c2").Input.RemoveAt(1);
        Assert.Contains("node 'c2' (Conv): has 1 inputs; Conv requires 2", Assert.Throws<InvalidModelException>(() => OnnxModel.Load(model.Bytes())).Message);

        model = HostileModels.ConvPair();
        model.NodeNamed("c2").Input.Add("c2.b");
        Assert.Contains("node 'c2' (Conv): has 4 inputs; Conv takes at most 3", Assert.Throws<InvalidModelException>(() => OnnxModel.Load(model.Bytes())).Message);
    }
}
