using System.Diagnostics;
using SharpQuant.Analysis;
using SharpQuant.Tests.Support;
using Xunit.Abstractions;
using Proto = global::Onnx;

namespace SharpQuant.Tests.Onnx;

/// <summary>
/// Issue 16, item 6: loading was quadratic in the node count (inspect on 50k Identity nodes took 67 s). Every
/// load-time structure is now linear or n·log n; the bound here is generous for a shared machine.
/// </summary>
public class LargeGraphLoadTests(ITestOutputHelper log)
{
    /// <summary>x → Identity → … → y, with node names of the given style.</summary>
    internal static Proto.ModelProto Chain(int count, Func<int, string> name)
    {
        var nodes = new Proto.NodeProto[count];
        for (var i = 0; i < count; i++)
        {
            nodes[i] = ProtoModels.Node("Identity", name(i), [i == 0 ? "x" : $"t{i - 1}"], [i == count - 1 ? "y" : $"t{i}"]);
        }
        var model = ProtoModels.Model(13, nodes);
        model.Graph.Input.Add(ProtoModels.FloatValue("x", 1, 4));
        model.Graph.Output.Add(ProtoModels.FloatValue("y", 1, 4));
        return model;
    }

    public static TheoryData<string> NameStyles() => ["opaque", "readable", "torch", "empty"];

    private static Func<int, string> Style(string style) => style switch
    {
        "opaque" => i => $"Identity_{i}",
        "readable" => i => $"block{i % 7}.identity",
        "torch" => i => $"/layer{i % 5}/id/Identity",
        _ => _ => "",
    };

    [Theory]
    [MemberData(nameof(NameStyles))]
    public void FiftyThousandNodeChainInspectsWithinTenSeconds(string style)
    {
        const int count = 50_000;
        using var temp = TestData.NewTempFolder();
        var path = temp.File("chain.onnx");
        File.WriteAllBytes(path, Chain(count, Style(style)).Bytes());
        var clock = Stopwatch.StartNew();
        var (code, output, error) = SharpQuant.Tests.Cli.InspectCommandTests.Run("inspect", path);
        var elapsed = clock.Elapsed;
        log.WriteLine($"inspect on a {count}-node chain ({style} names): {elapsed.TotalSeconds:F2} s");
        Assert.True(code == 0, error);
        Assert.Matches(@"nodes\s+50000", output);
        Assert.True(elapsed < TimeSpan.FromSeconds(10), $"inspect took {elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public void ModuleNamesStayUniqueOnALongChainOfOneName()
    {
        var graph = SharpQuant.Onnx.OnnxModel.Load(Chain(3000, _ => "same.identity").Bytes());
        var names = graph.Nodes.Select(n => n.ModuleName).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.Equal("same.identity", names[0]);
        Assert.Equal("same.identity_1", names[1]);
        Assert.Equal("same.identity_2999", names[^1]);
        Assert.NotNull(GraphSummary.Of(graph));
    }
}
