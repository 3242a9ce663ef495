using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SharpQuant.Onnx;
using SharpQuant.Runtime;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.IR;

/// <summary>The random CNN generator the pass properties rely on: valid, runnable, deterministic, varied.</summary>
public class RandomConvNetTests
{
    private static readonly ExecutorOptions OneThread = new() { IntraOpThreads = 1, InterOpThreads = 1 };

    /// <summary>A fixed sample, so the facts below do not depend on FsCheck's random seed.</summary>
    private static ConvNetSpec[] FixedSample(int count, ulong seed) =>
        Gen.Sample(RandomConvNets.Specs(), numberOfSamples: count, seed: new Rnd(seed), size: 50).ToArray();

    [Property(Arbitrary = new[] { typeof(ConvNetArbitraries) }, MaxTest = 40)]
    public void GeneratedNetsValidateAndRunWithTheShapesTheyDeclare(ConvNetSpec spec, int seed)
    {
        Assert.True(spec.IsValid, spec.ToString());
        var graph = RandomConvNets.Build(spec, seed);
        graph.Validate();
        Assert.Equal(RandomConvNets.Opset, graph.Info.OnnxOpset);
        Assert.Equal(spec.ConvCount, graph.NodesOfType("Conv").Count());

        // Every computed value is typed and shaped; ONNX Runtime must agree with each shape.
        var computed = graph.Nodes.SelectMany(n => n.Outputs).ToList();
        Assert.All(computed, v => Assert.Equal(ElementType.Float, v.ElementType));
        using var executor = new GraphExecutor(graph, OneThread);
        var result = executor.Run(
            new Dictionary<string, Tensor> { [graph.Inputs[0].Name] = RandomConvNets.Input(spec, seed) },
            computed.Where(v => !v.IsGraphOutput).Select(v => v.Name).ToArray());
        Assert.Equal(spec.OutputShape, result.Output.Shape);
        foreach (var v in computed)
        {
            Assert.Equal(v.ConcreteShape(), result[v.Name].Shape);
        }
        Assert.All(result.Output.ToArray<float>(), f => Assert.True(float.IsFinite(f), $"non-finite output {f}"));

        // The plain C# evaluation of the same graph agrees: attributes, layouts and pads mean what the builder meant.
        var reference = ReferenceExecutor.Run(graph, RandomConvNets.Input(spec, seed));
        Assert.Equal(result.Output.Shape, reference.Shape);
        Assert.True(Compare.RelativeMaxError(result.Output.Floats, reference.Floats) < 1e-4, "ONNX Runtime and the reference executor disagree");

        // Exactly the requested zero channel is all zero; every other conv channel has some non-zero weight.
        var zeroed = RandomConvNets.ZeroedChannel(spec, seed);
        var convs = graph.NodesOfType("Conv").ToList();
        for (var i = 0; i < convs.Count; i++)
        {
            var w = convs[i].ConstantInput(1)!;
            var perChannel = (int)(w.ElementCount / w.Shape[0]);
            for (var o = 0; o < w.Shape[0]; o++)
            {
                var allZero = !w.Floats.Slice(o * perChannel, perChannel).ContainsAnyExcept(0f);
                Assert.Equal(zeroed == (i, o), allZero);
            }
        }
    }

    [Fact]
    public void BuildIsDeterministic()
    {
        foreach (var spec in FixedSample(4, seed: 11))
        {
            var a = RandomConvNets.Build(spec, seed: 5);
            var b = RandomConvNets.Build(spec, seed: 5);
            var c = RandomConvNets.Build(spec, seed: 6);
            Assert.Equal(a.Nodes.Select(n => n.ModuleName), b.Nodes.Select(n => n.ModuleName));
            Assert.Equal(OnnxModel.ToBytes(a), OnnxModel.ToBytes(b));
            var input = RandomConvNets.Input(spec, seed: 5);
            using var ea = new GraphExecutor(a, OneThread);
            using var eb = new GraphExecutor(b, OneThread);
            using var ec = new GraphExecutor(c, OneThread);
            var outA = ea.Run(input);
            Compare.BitwiseEqual(eb.Run(input), outA);
            Assert.False(ec.Run(input).Bytes.SequenceEqual(outA.Bytes), "another seed should give other weights");
        }
    }

    [Fact]
    public void SpecsAreValidEqualByValueAndShrinkToValidSpecs()
    {
        var specs = FixedSample(50, seed: 3);
        Assert.All(specs, s => Assert.True(s.IsValid, s.ToString()));
        var spec = specs.First(s => s.Blocks.Count > 2);
        var copy = spec with { Blocks = spec.Blocks.ToList() };
        Assert.Equal(spec, copy);
        Assert.Equal(spec.GetHashCode(), copy.GetHashCode());
        Assert.Contains("ConvNet(input [2,", spec.ToString());

        var shrunk = RandomConvNets.Shrink(spec).ToList();
        Assert.NotEmpty(shrunk);
        Assert.All(shrunk, s => Assert.True(s.IsValid, s.ToString()));
        Assert.Contains(shrunk, s => s.Blocks.Count == spec.Blocks.Count - 1);
    }

    [Fact]
    public void GeneratorCoversEveryKindOfLayer()
    {
        var specs = FixedSample(200, seed: 42);
        var layers = specs.SelectMany(spec =>
        {
            // Pair each conv with the channel count it reads.
            var list = new List<(ConvSpec Conv, int InChannels)>();
            var s = spec.InputShape;
            foreach (var block in spec.Blocks)
            {
                var c = s.Channels;
                foreach (var conv in block.Convs)
                {
                    list.Add((conv, c));
                    c = conv.OutChannels;
                }
                s = block.Apply(s)!.Value;
            }
            return list;
        }).ToList();
        var blocks = specs.SelectMany(s => s.Blocks).ToList();

        Assert.Contains(blocks, b => b is ConvBlockSpec);
        Assert.Contains(blocks, b => b is SeparableBlockSpec);
        Assert.Contains(blocks, b => b is ResidualBlockSpec);
        Assert.Contains(blocks, b => b.Pool == PoolKind.MaxPool);
        Assert.Contains(blocks, b => b.Pool == PoolKind.AveragePool);
        foreach (var activation in Enum.GetValues<ActivationKind>())
        {
            Assert.Contains(layers, l => l.Conv.Activation == activation);
        }
        Assert.Contains(layers, l => l.Conv.BatchNorm);
        Assert.Contains(layers, l => !l.Conv.BatchNorm);
        Assert.Contains(layers, l => l.Conv.Bias);
        Assert.Contains(blocks, b => b is ConvBlockSpec c && c.Conv.Group > 1 && c.Conv.Group == c.Conv.OutChannels);
        Assert.Contains(layers, l => l.Conv.IsDepthwiseFor(l.InChannels) && l.Conv.Kernel > 1);
        Assert.Contains(blocks, b => b is SeparableBlockSpec s && s.Depthwise.Group > 1);
        Assert.Contains(layers, l => l.Conv.Group > 1 && l.Conv.Group < l.InChannels);
        Assert.Contains(layers, l => l.Conv.Dilation == 2);
        Assert.Contains(layers, l => l.Conv.Stride == 2);
        Assert.Contains(layers, l => l.Conv.Kernel == 1);
        Assert.Contains(layers, l => l.Conv.Pads.Top != l.Conv.Pads.Bottom || l.Conv.Pads.Left != l.Conv.Pads.Right);
        Assert.Contains(specs, s => s.Head is { GlobalPool: true });
        Assert.Contains(specs, s => s.Head is { GlobalPool: false });
        Assert.Contains(specs, s => s.Head is null);
        Assert.Contains(specs, s => s.ZeroChannel);
        Assert.Contains(specs, s => !s.ZeroChannel);
        Assert.Equal([2, 3, 4, 5, 6], specs.Select(s => s.Blocks.Count).Distinct().Order());
        Assert.Equal([1, 2, 3, 4], specs.Select(s => s.Channels).Distinct().Order());
        Assert.All(specs, s => Assert.InRange(s.Height, 6, 12));
        Assert.All(specs, s => Assert.InRange(s.Width, 6, 12));
    }

    [Fact]
    public void MostNetsDependOnTheirInput()
    {
        // Random biases and BatchNorm statistics can kill every channel behind a Relu; the builder draws them against a
        // calibration batch so that this stays rare and the pass properties compare outputs that mean something.
        var specs = FixedSample(100, seed: 5);
        var live = 0;
        for (var i = 0; i < specs.Length; i++)
        {
            var output = ReferenceExecutor.Run(RandomConvNets.Build(specs[i], seed: i), RandomConvNets.Input(specs[i], seed: i)).ToArray<float>();
            var half = output.Length / 2;
            var scale = output.Max(Math.Abs);
            var batchDifference = output.Take(half).Zip(output.Skip(half)).Max(p => Math.Abs(p.First - p.Second));
            live += batchDifference > 1e-3 * scale ? 1 : 0;
        }
        Assert.True(live >= 93, $"only {live} of 100 nets have outputs that depend on the input");
    }

    [Fact]
    public void ExportAndReloadGiveBitwiseEqualOutputs()
    {
        var index = 0;
        foreach (var spec in FixedSample(5, seed: 7))
        {
            var graph = RandomConvNets.Build(spec, seed: index++);
            var reloaded = OnnxModel.Load(OnnxModel.ToBytes(graph));
            Assert.Equal(graph.Nodes.Select(n => n.OpType), reloaded.Nodes.Select(n => n.OpType));
            Assert.Equal(graph.Nodes.Select(n => n.ModuleName), reloaded.Nodes.Select(n => n.ModuleName));
            var input = RandomConvNets.Input(spec, seed: index);
            using var original = new GraphExecutor(graph, OneThread);
            using var roundTripped = new GraphExecutor(reloaded, OneThread);
            Compare.BitwiseEqual(roundTripped.Run(input), original.Run(input));
        }
    }
}
