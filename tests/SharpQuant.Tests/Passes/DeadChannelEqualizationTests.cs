using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Passes;

/// <summary>
/// Issue 16, item 19: a dead output channel (max |w| ~ 1e-20) used to get a factor of ~1e-10 and a bias of ~1e9;
/// it is now kept at factor 1, reported, and the float output is unchanged.
/// </summary>
public class DeadChannelEqualizationTests
{
    private const int DeadChannel = 3;

    private static Graph FoldedWithDeadChannel(float deadScale)
    {
        var model = HostileModels.ConvPair(seed: 7);
        var w = model.Initializer("c1.w");
        var perChannel = w.FloatData.Count / HostileModels.Channels;
        for (var i = DeadChannel * perChannel; i < (DeadChannel + 1) * perChannel; i++)
        {
            w.FloatData[i] *= deadScale;
        }
        var graph = OnnxModel.Load(model.Bytes());
        return new FoldBatchNorm().Run(graph).Graph;
    }

    [Theory]
    [InlineData(1e-20f)]
    [InlineData(0f)]
    public void DeadChannelIsKeptAtFactorOneAndTheOutputIsUnchanged(float deadScale)
    {
        var folded = FoldedWithDeadChannel(deadScale);
        var result = new EqualizeCrossLayer().Run(folded);
        Assert.Single(result.Report.Sets);
        Assert.Equal(1, result.Report.DeadChannels);

        var c1Before = LinearLayer.Create(folded.FindNode("c1")!);
        var c1After = LinearLayer.Create(result.Graph.FindNode("c1")!);
        // Factor 1 on the dead channel: its weights and bias are exactly as they were.
        var perChannel = (int)(c1Before.Weight.ElementCount / c1Before.OutChannels);
        Assert.Equal(
            c1Before.Weight.Floats.Slice(DeadChannel * perChannel, perChannel).ToArray(),
            c1After.Weight.Floats.Slice(DeadChannel * perChannel, perChannel).ToArray());
        Assert.Equal(c1Before.BiasOrZeros()[DeadChannel], c1After.BiasOrZeros()[DeadChannel]);
        // The live channels were equalized.
        var before = c1Before.OutputRanges(RangeMode.MaxAbs);
        var after = c1After.OutputRanges(RangeMode.MaxAbs);
        Assert.Contains(Enumerable.Range(0, before.Length), c => c != DeadChannel && Math.Abs(before[c] - after[c]) > 1e-3 * before[c]);
        Assert.All(c1After.BiasOrZeros(), b => Assert.InRange(Math.Abs(b), 0, 100));

        Invariance.AssertPreserved(folded, result.Graph, Compare.RandomTensor(3, -1f, 1f, 1, 4, 8, 8));
    }

    [Fact]
    public void EqualizeCommandReportsDeadChannels()
    {
        var model = HostileModels.ConvPair(seed: 7);
        var w = model.Initializer("c1.w");
        var perChannel = w.FloatData.Count / HostileModels.Channels;
        for (var i = 0; i < perChannel; i++)
        {
            w.FloatData[DeadChannel * perChannel + i] = 5.8e-21f;
        }
        using var temp = TestData.NewTempFolder();
        var path = temp.File("dead.onnx");
        File.WriteAllBytes(path, model.Bytes());
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = SharpQuant.Cli.CliApp.Run(["equalize", path, "-o", temp.File("out.onnx")], stdout, stderr);
        Assert.True(code == 0, stderr.ToString());
        Assert.Contains("1 dead channels kept at factor 1 (weight range at most 1E-08 of the layer's largest)", stdout.ToString());
    }

    [Fact]
    public void FactorsAreClampedToTheDocumentedBounds()
    {
        // A channel 1e-7 of the largest is not dead, but its factor would be ~3e-4 per sweep; no factor may leave [1e-8, 1e8].
        var folded = FoldedWithDeadChannel(1e-7f);
        var result = new EqualizeCrossLayer().Run(folded);
        Assert.Equal(0, result.Report.DeadChannels);
        var before = LinearLayer.Create(folded.FindNode("c2")!).InputRanges(RangeMode.MaxAbs);
        var after = LinearLayer.Create(result.Graph.FindNode("c2")!).InputRanges(RangeMode.MaxAbs);
        for (var c = 0; c < before.Length; c++)
        {
            Assert.InRange(after[c] / before[c], EqualizeCrossLayer.MinFactor, EqualizeCrossLayer.MaxFactor);
        }
        Invariance.AssertPreserved(folded, result.Graph, Compare.RandomTensor(3, -1f, 1f, 1, 4, 8, 8));
    }
}
