using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.IR;

public class GraphTableTests
{
    [Fact]
    public void ResNet18TableMapsOpsOntoFxOpcodes()
    {
        var g = TestModels.ResNet18();
        var rows = GraphTable.Rows(g);
        Assert.Equal(("placeholder", "Input247"), (rows[0].Opcode, rows[0].Name));
        var conv = rows.Single(r => r.Name == "stage1.block0.conv1");
        Assert.Equal("call_module", conv.Opcode);
        Assert.Equal("stage1.block0.conv1", conv.Target);
        Assert.Equal("(stem.maxpool1, Parameter86[64, 64, 3, 3])", conv.Args);
        Assert.Contains("group: 1", conv.Kwargs);
        var relu = rows.Single(r => r.Name == "stage1.block0.relu1");
        Assert.Equal(("call_function", "Relu", "(stage1.block0.bn1)"), (relu.Opcode, relu.Target, relu.Args));
        Assert.Equal("output", rows[^1].Opcode);
        Assert.Equal(1 + 74 + 1, rows.Count);

        var text = g.PrintTabular();
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("opcode", lines[0]);
        Assert.StartsWith("-------", lines[1]);
        // Aligned columns: every row's "name" column starts at the same offset.
        var nameColumn = lines[0].IndexOf("name", StringComparison.Ordinal);
        Assert.All(lines.Skip(2), l => Assert.NotEqual(' ', l[nameColumn]));
    }

    [Fact]
    public void FreeConstantsAreGetAttrRows()
    {
        var g = new Graph();
        var x = g.AddInput("x", ElementType.Float, [4]);
        var c = g.AddConstant("offset", Tensor.FromFloats([1, 2, 3, 4], 4));
        g.AddOutput(g.AddNode("Add", [x, c], moduleName: "add").Output);
        var rows = GraphTable.Rows(g);
        Assert.Equal(["placeholder", "get_attr", "call_function", "output"], rows.Select(r => r.Opcode));
        Assert.Equal("{shape: [4]}", rows[1].Kwargs);
    }
}
