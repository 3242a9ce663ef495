using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Runtime;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Runtime;

/// <summary>
/// Taps in ONNX Runtime's blocked layout (<see cref="ExecutorOptions.TapsInAnyOrder"/>): the same values as the
/// NCHW taps, bit for bit, in another order; graph outputs unchanged; calibration identical to observing the NCHW
/// taps.
/// </summary>
public class BlockedLayoutTapsTests
{
    private static readonly ExecutorOptions Nchw = new() { IntraOpThreads = 2 };
    private static readonly ExecutorOptions AnyOrder = Nchw with { TapsInAnyOrder = true };

    // ORT's NCHWc layout needs AVX2 on x64 (8-channel blocks; 16 with AVX-512), and the rewrite is only done on
    // x64; elsewhere nothing is blocked.
    private static bool Blocks => RuntimeInformation.ProcessArchitecture == Architecture.X64 && Avx2.IsSupported;

    [Fact]
    public void ResNet18TapsAreTheSameValuesInAnotherOrderAndTheOutputIsUnchanged()
    {
        var g = TestModels.ResNet18().FoldBatchNorm();
        var taps = g.Nodes.Where(n => n.OpType is "Relu" or "Conv").Select(n => n.Output.Name).ToArray();
        var input = new Dictionary<string, Tensor> { [g.Inputs[0].Name] = TestModels.ResNet18Input(seed: 7, batch: 2) };
        using var nchw = new GraphExecutor(g, Nchw);
        using var anyOrder = new GraphExecutor(g, AnyOrder);
        var expected = nchw.Run(input, taps);
        var actual = anyOrder.Run(input, taps);

        var blocked = anyOrder.BlockedTapCount(taps);
        Assert.Equal(0, nchw.BlockedTapCount(taps));
        if (Blocks)
        {
            // Every tapped conv and ReLU output of ResNet18 has 64 to 512 channels; the tap of the stem conv is also
            // the input of the ReLU that ORT fused into it, so a few values share their producer.
            Assert.InRange(blocked, taps.Length / 2, taps.Length);
        }
        Compare.BitwiseEqual(actual.Output, expected.Output);
        var reordered = 0;
        foreach (var tap in taps)
        {
            Assert.Equal(expected[tap].Shape, actual[tap].Shape);
            var want = expected[tap].ToArray<float>();
            var got = actual[tap].ToArray<float>();
            reordered += want.AsSpan().SequenceEqual(got) ? 0 : 1;
            Array.Sort(want);
            Array.Sort(got);
            Assert.True(want.AsSpan().SequenceEqual(got), $"{tap}: not the same multiset of values");
        }
        // Where the layout is blocked the values really come in another order (the reorders were skipped).
        Assert.Equal(blocked, reordered);
    }

    [Fact]
    public void ChannelCountsThatAreNotAMultipleOfTheBlockKeepTheirReorder()
    {
        // x [1,3,12,12] → Conv 24 → Relu (a) → Conv 32 → Relu (b); 24 channels would be padded to a block of 16.
        var random = new Random(3);
        float[] Weights(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var model = ProtoModels.Model(13,
            ProtoModels.Node("Conv", "conv1", ["x", "w1", "b1"], ["c1"]),
            ProtoModels.Node("Relu", "relu1", ["c1"], ["a"]),
            ProtoModels.Node("Conv", "conv2", ["a", "w2", "b2"], ["c2"]),
            ProtoModels.Node("Relu", "relu2", ["c2"], ["b"]));
        model.Graph.Node[0].Attribute.Add(new global::Onnx.AttributeProto { Name = "pads", Type = global::Onnx.AttributeProto.Types.AttributeType.Ints, Ints = { 1, 1, 1, 1 } });
        model.Graph.Node[2].Attribute.Add(new global::Onnx.AttributeProto { Name = "pads", Type = global::Onnx.AttributeProto.Types.AttributeType.Ints, Ints = { 1, 1, 1, 1 } });
        model.Graph.Input.Add(ProtoModels.FloatValue("x", 1, 3, 12, 12));
        model.Graph.Output.Add(ProtoModels.FloatValue("b", 1, 32, 12, 12));
        model.Graph.Initializer.Add(ProtoModels.FloatTensor("w1", Weights(24 * 3 * 9), 24, 3, 3, 3));
        model.Graph.Initializer.Add(ProtoModels.FloatTensor("b1", Weights(24), 24));
        model.Graph.Initializer.Add(ProtoModels.FloatTensor("w2", Weights(32 * 24 * 9), 32, 24, 3, 3));
        model.Graph.Initializer.Add(ProtoModels.FloatTensor("b2", Weights(32), 32));
        var g = OnnxModel.Load(model.Bytes());
        var input = new Dictionary<string, Tensor> { ["x"] = Compare.RandomTensor(1, -1f, 1f, 1, 3, 12, 12) };
        using var nchw = new GraphExecutor(g, Nchw);
        using var anyOrder = new GraphExecutor(g, AnyOrder);
        string[] taps = ["a", "c2"];
        var expected = nchw.Run(input, taps);
        var actual = anyOrder.Run(input, taps);
        Compare.BitwiseEqual(actual["a"], expected["a"]);
        Compare.BitwiseEqual(actual.Output, expected.Output);
        Assert.Equal(Blocks ? 1 : 0, anyOrder.BlockedTapCount(taps));
        var want = expected["c2"].ToArray<float>();
        var got = actual["c2"].ToArray<float>();
        Assert.Equal(!Blocks, want.AsSpan().SequenceEqual(got));
        Array.Sort(want);
        Array.Sort(got);
        Assert.True(want.AsSpan().SequenceEqual(got));
    }

    [Fact]
    public void CalibrationEqualsObservingTheNchwTaps()
    {
        var g = TestModels.ResNet18().FoldBatchNorm();
        var mapping = new QConfigMapping().SetGlobal(QConfig.Default);
        var batches = new[] { TestModels.ResNet18Input(seed: 11, batch: 2), TestModels.ResNet18Input(seed: 12, batch: 2) };

        var sim = QuantSim.Prepare(g, mapping);
        var observing = sim.Quantizers.Where(q => q.Kind == QuantizerKind.Activation).ToList();
        var taps = observing.Select(q => q.Input.Name).Distinct().ToArray();
        // What calibration's session will do: before calibration only ORT's own ops read the taps, so they block.
        using (var probe = sim.CreateExecutor(AnyOrder))
        {
            Assert.Equal(Blocks, probe.BlockedTapCount(taps) > 0);
        }
        sim.Calibrate(batches, options: Nchw);

        // The reference observes the NCHW taps of an executor with the simulation's own session settings.
        var reference = QuantSim.Prepare(g, mapping);
        using (var executor = reference.CreateExecutor(Nchw))
        {
            foreach (var batch in batches)
            {
                var result = executor.Run(new Dictionary<string, Tensor> { [g.Inputs[0].Name] = batch }, taps);
                foreach (var q in reference.Quantizers.Where(q => q.Kind == QuantizerKind.Activation))
                {
                    q.Observe(result[q.Input.Name]);
                }
            }
        }
        foreach (var q in reference.Quantizers.Where(q => q.Kind == QuantizerKind.Activation))
        {
            var expected = q.ProposeQParams()!;
            var actual = sim[q.Name].QParams;
            Assert.Equal(expected.Scale, actual.Scale);
            Assert.Equal(expected.ZeroPoint, actual.ZeroPoint);
        }
    }
}
