using Google.Protobuf;
using SharpQuant.Cli;
using Proto = global::Onnx;

namespace SharpQuant.Tests.Support;

/// <summary>
/// A small valid CNN as a protobuf model (conv c1 → BatchNorm bn → Relu → conv c2) for tests to break one rule at a
/// time, and a way to run the CLI on the broken file and check the one-line refusal.
/// </summary>
public static class HostileModels
{
    public const int Channels = 8;

    /// <summary>x [1, 4, 8, 8] → c1 (8×4×3×3, pads 1) → bn → relu → c2 (8×8×1×1) → y.</summary>
    public static Proto.ModelProto ConvPair(int seed = 1)
    {
        var random = new Random(seed);
        float[] Randoms(int n, float scale, float offset = 0) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1) * scale + offset).ToArray();
        var c1 = ProtoModels.Node("Conv", "c1", ["x", "c1.w", "c1.b"], ["h1"]);
        c1.Attribute.Add(Ints("pads", 1, 1, 1, 1));
        c1.Attribute.Add(Ints("kernel_shape", 3, 3));
        var bn = ProtoModels.Node("BatchNormalization", "bn", ["h1", "bn.scale", "bn.bias", "bn.mean", "bn.var"], ["h2"]);
        var relu = ProtoModels.Node("Relu", "relu", ["h2"], ["h3"]);
        var c2 = ProtoModels.Node("Conv", "c2", ["h3", "c2.w", "c2.b"], ["y"]);
        var model = ProtoModels.Model(13, c1, bn, relu, c2);
        model.Graph.Input.Add(ProtoModels.FloatValue("x", 1, 4, 8, 8));
        model.Graph.Output.Add(ProtoModels.FloatValue("y", 1, Channels, 8, 8));
        model.Graph.Initializer.Add(ProtoModels.FloatTensor("c1.w", Randoms(Channels * 4 * 9, 0.5f), Channels, 4, 3, 3));
        model.Graph.Initializer.Add(ProtoModels.FloatTensor("c1.b", Randoms(Channels, 0.1f), Channels));
        model.Graph.Initializer.Add(ProtoModels.FloatTensor("bn.scale", Randoms(Channels, 0.5f, 1f), Channels));
        model.Graph.Initializer.Add(ProtoModels.FloatTensor("bn.bias", Randoms(Channels, 0.2f), Channels));
        model.Graph.Initializer.Add(ProtoModels.FloatTensor("bn.mean", Randoms(Channels, 0.2f), Channels));
        model.Graph.Initializer.Add(ProtoModels.FloatTensor("bn.var", Randoms(Channels, 0.5f, 1f), Channels));
        model.Graph.Initializer.Add(ProtoModels.FloatTensor("c2.w", Randoms(Channels * Channels, 0.5f), Channels, Channels, 1, 1));
        model.Graph.Initializer.Add(ProtoModels.FloatTensor("c2.b", Randoms(Channels, 0.1f), Channels));
        return model;
    }

    public static Proto.AttributeProto Ints(string name, params long[] values)
    {
        var a = new Proto.AttributeProto { Name = name, Type = Proto.AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public static Proto.AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = Proto.AttributeProto.Types.AttributeType.Int, I = value };

    public static Proto.AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = Proto.AttributeProto.Types.AttributeType.Float, F = value };

    public static Proto.NodeProto NodeNamed(this Proto.ModelProto model, string name) => model.Graph.Node.Single(n => n.Name == name);

    public static Proto.TensorProto Initializer(this Proto.ModelProto model, string name) => model.Graph.Initializer.Single(t => t.Name == name);

    /// <summary>Sets (or replaces) one attribute of a node.</summary>
    public static void SetAttribute(this Proto.NodeProto node, Proto.AttributeProto attribute)
    {
        var old = node.Attribute.FirstOrDefault(a => a.Name == attribute.Name);
        if (old is not null)
        {
            node.Attribute.Remove(old);
        }
        node.Attribute.Add(attribute);
    }

    /// <summary>The commands that load and edit a model, each as arguments after the model path and before -o.</summary>
    public static readonly string[][] EditingCommands = [["fold"], ["equalize"], ["quantize", "--data-free"]];

    /// <summary>
    /// Runs <paramref name="command"/> on the model written to a temporary folder and asserts the refusal: exit 2,
    /// one <c>error:</c> line on stderr containing every expected fragment, and no output file. Returns the line.
    /// </summary>
    public static string AssertRefused(Proto.ModelProto model, string[] command, params string[] expected)
    {
        using var temp = TestData.NewTempFolder();
        var path = temp.File("hostile.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        var output = temp.File("out.onnx");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = CliApp.Run([command[0], path, .. command.Skip(1), "-o", output], stdout, stderr);
        var error = stderr.ToString();
        Assert.True(code == ExitCodes.BadInput, $"{string.Join(' ', command)}: exit {code}, stderr: {error}");
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var line = Assert.Single(lines);
        Assert.StartsWith("error: ", line);
        foreach (var fragment in expected)
        {
            Assert.Contains(fragment, line);
        }
        Assert.False(File.Exists(output), "a refused model must not be written");
        Assert.Single(Directory.GetFiles(temp.Path));
        return line;
    }
}
