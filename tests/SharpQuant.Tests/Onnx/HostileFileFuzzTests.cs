using Google.Protobuf;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Tests.Support;
using Xunit.Abstractions;
using Proto = global::Onnx;

namespace SharpQuant.Tests.Onnx;

/// <summary>
/// Issue 16, acceptance: seeded mutations of a small model (truncations, byte flips, protobuf field mutations) run
/// in-process through load (with the model checker), fold and equalize. Every outcome is success or a
/// <see cref="SharpQuantException"/> with a one-line message: never another exception type, never a hang.
/// </summary>
public class HostileFileFuzzTests(ITestOutputHelper log)
{
    private const int CasesPerKind = 200;

    // Generous for a loaded shared machine; a healthy case takes milliseconds.
    private static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(20);

    private static readonly byte[] Original = HostileModels.ConvPair().ToByteArray();

    public enum MutationKind
    {
        Truncation,
        ByteFlips,
        FieldMutation,
    }

    [Theory]
    [InlineData(MutationKind.Truncation)]
    [InlineData(MutationKind.ByteFlips)]
    [InlineData(MutationKind.FieldMutation)]
    public void EveryMutationLoadsOrIsRefusedInOneLine(MutationKind kind)
    {
        var outcomes = new Dictionary<string, int>();
        for (var seed = 0; seed < CasesPerKind; seed++)
        {
            var random = new Random(seed * 31 + (int)kind);
            var (bytes, description) = Mutate(kind, random);
            var outcome = RunCase(bytes);
            outcomes[outcome.Summary] = outcomes.GetValueOrDefault(outcome.Summary) + 1;
            Assert.True(outcome.Failure is null, $"seed {seed} ({description}): {outcome.Failure}");
        }
        log.WriteLine($"{kind}: " + string.Join(", ", outcomes.OrderByDescending(o => o.Value).Select(o => $"{o.Key} {o.Value}")));
        if (kind != MutationKind.Truncation)
        {
            // The mutations reach past the parser: some cases load, some are refused.
            Assert.True(outcomes.Count >= 2, string.Join(", ", outcomes.Keys));
        }
    }

    private sealed record Outcome(string Summary, string? Failure);

    private static Outcome RunCase(byte[] bytes)
    {
        var task = Task.Run(() =>
        {
            try
            {
                var graph = OnnxModel.Load(bytes, "fuzz.onnx");
                var folded = new FoldBatchNorm().Run(graph).Graph;
                var equalized = new EqualizeCrossLayer().Run(folded).Graph;
                OnnxModel.ToBytes(equalized);
                return new Outcome("loaded", null);
            }
            catch (SharpQuantException e)
            {
                var oneLine = e.Message.Length > 0 && !e.Message.Contains('\n') && !e.Message.Contains('\r');
                return new Outcome("refused", oneLine ? null : $"message is not one line: {e.Message}");
            }
            catch (Exception e)
            {
                return new Outcome("other", $"{e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            }
        });
        return task.Wait(CaseTimeout) ? task.Result : new Outcome("hang", $"no result after {CaseTimeout.TotalSeconds} s");
    }

    private static (byte[] Bytes, string Description) Mutate(MutationKind kind, Random random)
    {
        switch (kind)
        {
            case MutationKind.Truncation:
            {
                var length = random.Next(Original.Length);
                return (Original[..length], $"truncated to {length} of {Original.Length} bytes");
            }
            case MutationKind.ByteFlips:
            {
                var bytes = (byte[])Original.Clone();
                var flips = random.Next(1, 9);
                var positions = new List<int>();
                for (var i = 0; i < flips; i++)
                {
                    var at = random.Next(bytes.Length);
                    bytes[at] ^= (byte)random.Next(1, 256);
                    positions.Add(at);
                }
                return (bytes, $"bytes flipped at {string.Join(", ", positions)}");
            }
            default:
            {
                var model = HostileModels.ConvPair();
                var done = new List<string>();
                for (var i = random.Next(1, 4); i > 0; i--)
                {
                    done.Add(MutateField(model, random));
                }
                return (model.ToByteArray(), string.Join("; ", done));
            }
        }
    }

    private static readonly long[] Interesting = [0, 1, -1, 2, 3, 7, 8, 9, 255, int.MaxValue, (long)int.MaxValue + 1, 1L << 40, long.MaxValue, long.MinValue];

    private static readonly string[] OpTypes = ["Conv", "Relu", "BatchNormalization", "Gemm", "MatMul", "Add", "Identity", "MaxPool", "ConvTranspose", "Flatten", "Frobnicate", ""];

    private static readonly string[] Names = ["", "x", "y", "h1", "h2", "h3", "c1.w", "c2.w", "c2.b", "bn.var", "ghost"];

    /// <summary>One random edit of a field of the model, graph, a node, an attribute or a tensor; returns what it did.</summary>
    private static string MutateField(Proto.ModelProto model, Random random)
    {
        T Pick<T>(IReadOnlyList<T> items) => items[random.Next(items.Count)];
        long Number() => random.Next(3) == 0 ? random.NextInt64(-20, 20) : Pick(Interesting);
        var g = model.Graph;
        var node = g.Node.Count > 0 ? Pick(g.Node) : null;
        var tensor = g.Initializer.Count > 0 ? Pick(g.Initializer) : null;
        switch (random.Next(16))
        {
            case 0 when node is not null:
                node.OpType = Pick(OpTypes);
                return $"node '{node.Name}' op → '{node.OpType}'";
            case 1 when node is { Input.Count: > 0 }:
                var slot = random.Next(node.Input.Count);
                node.Input[slot] = Pick(Names);
                return $"node '{node.Name}' input {slot} → '{node.Input[slot]}'";
            case 2 when node is not null:
                node.Output[0] = Pick(Names);
                return $"node '{node.Name}' output → '{node.Output[0]}'";
            case 3 when node is not null:
                var kind = (Proto.AttributeProto.Types.AttributeType)random.Next(0, 16);
                var attribute = new Proto.AttributeProto { Name = Pick(["group", "kernel_shape", "pads", "strides", "dilations", "epsilon", "transB", "auto_pad", "axis"]), Type = kind, I = Number(), F = (float)random.NextDouble() * 4 - 2 };
                for (var i = random.Next(5); i > 0; i--)
                {
                    attribute.Ints.Add(Number());
                }
                if (random.Next(2) == 0)
                {
                    attribute.S = ByteString.CopyFromUtf8(Pick(["NOTSET", "SAME_UPPER", "VALID", "bogus"]));
                }
                node.SetAttribute(attribute);
                return $"node '{node.Name}' attribute {attribute.Name} ({kind})";
            case 4 when tensor is { Dims.Count: > 0 }:
                var d = random.Next(tensor.Dims.Count);
                tensor.Dims[d] = Number();
                return $"tensor '{tensor.Name}' dim {d} → {tensor.Dims[d]}";
            case 5 when tensor is not null:
                tensor.DataType = (int)Number() is var t && random.Next(2) == 0 ? t : random.Next(0, 25);
                return $"tensor '{tensor.Name}' type → {tensor.DataType}";
            case 6 when tensor is { FloatData.Count: > 0 }:
                var at = random.Next(tensor.FloatData.Count);
                tensor.FloatData[at] = Pick([float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -1f, 1e-30f, 1e30f, float.Epsilon]);
                return $"tensor '{tensor.Name}' element {at} → {tensor.FloatData[at]}";
            case 7 when tensor is not null:
                if (random.Next(2) == 0)
                {
                    tensor.Dims.Add(Number());
                }
                else if (tensor.Dims.Count > 0)
                {
                    tensor.Dims.RemoveAt(random.Next(tensor.Dims.Count));
                }
                return $"tensor '{tensor.Name}' rank → {tensor.Dims.Count}";
            case 8 when tensor is not null:
                g.Initializer.Remove(tensor);
                return $"initializer '{tensor.Name}' removed";
            case 9 when node is not null:
                if (random.Next(2) == 0)
                {
                    g.Node.Remove(node);
                    return $"node '{node.Name}' removed";
                }
                g.Node.Add(node.Clone());
                return $"node '{node.Name}' duplicated";
            case 10:
                model.IrVersion = Number();
                return $"IR version → {model.IrVersion}";
            case 11:
                model.OpsetImport[0].Version = random.Next(2) == 0 ? Number() : random.Next(5, 25);
                return $"opset → {model.OpsetImport[0].Version}";
            case 12 when g.Input.Count > 0:
                var input = g.Input[0];
                if (input.Type?.TensorType is { } tt)
                {
                    tt.ElemType = random.Next(0, 30);
                    if (tt.Shape is { Dim.Count: > 0 } shape)
                    {
                        shape.Dim[random.Next(shape.Dim.Count)].DimValue = Number();
                    }
                }
                return $"input type → {input.Type?.TensorType?.ElemType}";
            case 13 when node is not null:
                node.Domain = Pick(["", "ai.onnx", "com.example", "com.microsoft", "sharpquant"]);
                return $"node '{node.Name}' domain → '{node.Domain}'";
            case 14 when tensor is not null:
                tensor.DataLocation = Proto.TensorProto.Types.DataLocation.External;
                tensor.ExternalData.Add(new Proto.StringStringEntryProto { Key = "location", Value = Pick(["w.bin", "../w.bin", "/etc/passwd"]) });
                return $"tensor '{tensor.Name}' external";
            case 15 when tensor is not null:
                tensor.RawData = ByteString.CopyFrom(new byte[random.Next(0, 64)]);
                return $"tensor '{tensor.Name}' raw data of {tensor.RawData.Length} bytes";
            default:
                g.Output.Clear();
                g.Output.Add(ProtoModels.FloatValue(Pick(Names), Enumerable.Range(0, random.Next(5)).Select(_ => Number()).ToArray()));
                return $"graph output → '{g.Output[0].Name}'";
        }
    }
}
