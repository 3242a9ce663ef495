using SharpQuant.Passes;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Passes;

public class EqualizationTests
{
    private static Graph FoldedResNet18() => TestModels.ResNet18().FoldBatchNorm();

    [Fact]
    public void ResNet18HasOnePairPerResidualBlockAndNoneAcrossAnAdd()
    {
        var report = FoldedResNet18().FindEqualizationSets();
        Assert.Equal(9, report.Sets.Count);
        Assert.All(report.Sets, s => Assert.False(s.IsTriple));
        Assert.Equal(["stage1.block0.conv1", "stage1.block0.conv2"], report.Sets[0].Names);
        Assert.All(report.Sets, s => Assert.Matches(@"^stage\d\.block\d\.conv1$", s.Names[0]));
        Assert.All(report.Sets, s => Assert.Equal(s.Names[0].Replace("conv1", "conv2"), s.Names[1]));
        Assert.StartsWith("[['stage1.block0.conv1', 'stage1.block0.conv2'], ['stage1.block1.conv1',", report.FormatSets());
        // Every conv2 and downsample conv feeds an Add; the stem conv feeds a tensor read twice.
        Assert.Contains(report.Rejected, r => r.Layer == "stage1.block0.conv2" && r.Reason.Contains("Add 'stage1.block0.add' does not commute"));
        Assert.Contains(report.Rejected, r => r.Layer == "stem.conv1" && r.Reason.Contains("read by 2 ops"));
        Assert.Equal(22 - 9, report.Rejected.Count);
    }

    [SkippableFact]
    public void ResNet18EqualizationKeepsOutputsAndNarrowsSpreads()
    {
        var folded = FoldedResNet18();
        var result = new EqualizeCrossLayer().Run(folded);
        var report = result.Report;
        Assert.True(report.Converged);
        Assert.InRange(report.Sweeps, 2, 100);
        Assert.True(report.FinalChange < 1e-4);
        Assert.Equal(9, report.Sets.Count);
        Assert.All(report.Sets, s => Assert.True(s.Spreads[0].After < s.Spreads[0].Before, $"{s.Set}: {s.Spreads[0].Before} → {s.Spreads[0].After}"));
        Invariance.AssertPreserved(folded, result.Graph, RealImages.ResNet18Batch());

        // At convergence the two layers of a pair have equal per-channel ranges (max-abs).
        var set = result.Graph.FindEqualizationSets().Sets[3];
        var r1 = LinearLayer.Create(set.Layers[0]).OutputRanges(RangeMode.MaxAbs);
        var r2 = LinearLayer.Create(set.Layers[1]).InputRanges(RangeMode.MaxAbs);
        for (var c = 0; c < r1.Length; c++)
        {
            Assert.Equal(r1[c], r2[c], 1e-4 * r1[c]);
        }
    }

    [SkippableFact]
    public void PpocrHasDepthwiseTriplesAndPairsAndEqualizationKeepsOutputs()
    {
        var folded = TestModels.Ppocr().FoldBatchNorm();
        var report = folded.FindEqualizationSets();
        Assert.True(report.TripleCount > 0);
        Assert.True(report.PairCount > 0);
        Assert.All(report.Sets.Where(s => s.IsTriple), s => Assert.True(LinearLayer.Create(s.Layers[1]).IsDepthwise));
        Assert.Contains(report.Rejected, r => r.Reason.Contains("Add"));
        var result = new EqualizeCrossLayer().Run(folded);
        Assert.True(result.Report.Converged);
        Invariance.AssertPreserved(folded, result.Graph, RealImages.PpocrBatch());

        // A converged triple has three equal ranges per channel.
        var triple = result.Graph.FindEqualizationSets().Sets.First(s => s.IsTriple);
        var r1 = LinearLayer.Create(triple.Layers[0]).OutputRanges(RangeMode.MaxAbs);
        var r2 = LinearLayer.Create(triple.Layers[1]).OutputRanges(RangeMode.MaxAbs);
        var r3 = LinearLayer.Create(triple.Layers[2]).InputRanges(RangeMode.MaxAbs);
        for (var c = 0; c < r1.Length; c++)
        {
            Assert.Equal(r1[c], r2[c], 1e-3 * r1[c]);
            Assert.Equal(r2[c], r3[c], 1e-3 * r2[c]);
        }
    }

    [Fact]
    public void MaxMinModeMatchesPyTorchScaling()
    {
        // One sweep on a pair: s = sqrt(range1 / (range2 + 1e-9)) with range = max − min per channel.
        var g = TinyPair(out var first, out var second, relu6: false);
        var w1 = first.ConstantInput(1)!.ToArray<float>();
        var w2 = second.ConstantInput(1)!.ToArray<float>();
        var result = new EqualizeCrossLayer(new EqualizationOptions { Ranges = RangeMode.MaxMin, MaxSweeps = 1 }).Run(g);
        var newW1 = result.Graph.FindNode("first")!.ConstantInput(1)!.ToArray<float>();
        for (var c = 0; c < 3; c++)
        {
            var row1 = w1.Skip(c * 2).Take(2).ToArray();
            var col2 = new[] { w2[c], w2[3 + c] };
            var s = Math.Sqrt((row1.Max() - row1.Min()) / (col2.Max() - col2.Min() + 1e-9));
            Assert.Equal(w1[c * 2] / s, newW1[c * 2], 1e-5);
        }
    }

    private static Graph TinyPair(out Node first, out Node second, bool relu6)
    {
        var g = new Graph();
        g.Info.OnnxOpset = 13;
        var x = g.AddInput("x", ElementType.Float, [2, 2]);
        first = g.AddNode("Gemm", [x, g.AddConstant("w1", Tensor.FromFloats([0.1f, -0.2f, 5f, 3f, -0.01f, 0.02f], 3, 2)), g.AddConstant("b1", Tensor.FromFloats([0.5f, 1f, -0.2f], 3))],
            moduleName: "first", attributes: new Dictionary<string, AttributeValue> { ["transB"] = AttributeValue.Of(1L) });
        Node act = relu6
            ? g.AddNode("Clip", [first.Output, g.AddConstant("lo", Tensor.Scalar(0f)), g.AddConstant("hi", Tensor.Scalar(6f))], moduleName: "relu6")
            : g.AddNode("Relu", [first.Output], moduleName: "relu");
        second = g.AddNode("Gemm", [act.Output, g.AddConstant("w2", Tensor.FromFloats([1f, 0.5f, 20f, -2f, 0.1f, 4f], 2, 3))],
            moduleName: "second", attributes: new Dictionary<string, AttributeValue> { ["transB"] = AttributeValue.Of(1L) });
        g.AddOutput(second.Output);
        return g;
    }

    [Fact]
    public void Relu6IsSkippedReplacedOrKeptExact()
    {
        var g = TinyPair(out _, out _, relu6: true);
        var input = Tensor.FromFloats([3f, -1f, 40f, 2f], 2, 2);

        var skip = new EqualizeCrossLayer(new EqualizationOptions { Relu6 = Relu6Mode.Skip }).Run(g);
        Assert.Empty(skip.Report.Sets);
        Assert.Contains(skip.Report.Discovery.Rejected, r => r.Reason.Contains("ReLU6") && r.Reason.Contains("does not commute"));

        // Exact is the default: no option needed.
        var exact = new EqualizeCrossLayer().Run(g);
        Assert.Single(exact.Report.Sets);
        Assert.Contains(exact.Report.ModelChanges, c => c.Contains("exact"));
        Assert.Empty(exact.Graph.NodesOfType("Clip"));
        Invariance.AssertPreserved(g, exact.Graph, input);

        var replace = new EqualizeCrossLayer(new EqualizationOptions { Relu6 = Relu6Mode.Replace }).Run(g);
        Assert.Single(replace.Report.Sets);
        Assert.Contains(replace.Report.ModelChanges, c => c.Contains("float model changes"));
        // Activations above 6 (the 40 in the input) now pass unclipped: the model really changed.
        Assert.True(Invariance.RelativeError(g, replace.Graph, input) > 1e-3);
    }

    [Fact]
    public void ZeroAndNaNChannelsAreLeftUnscaled()
    {
        var g = TinyPair(out var first, out _, relu6: false);
        var w = first.ConstantInput(1)!.ToArray<float>();
        w[0] = w[1] = 0f;
        w[4] = float.NaN;
        g.SetConstantValue(first.Input(1), Tensor.FromFloats(w, 3, 2));
        var result = new EqualizeCrossLayer().Run(g);
        var newW = result.Graph.FindNode("first")!.ConstantInput(1)!.ToArray<float>();
        Assert.Equal(0f, newW[0]);
        Assert.True(float.IsNaN(newW[4]));
        Assert.Equal(w[5], newW[5]);
        var w2 = result.Graph.FindNode("second")!.ConstantInput(1)!.ToArray<float>();
        Assert.All(w2, v => Assert.True(float.IsFinite(v)));
        Assert.All(result.Graph.FindNode("first")!.ConstantInput(2)!.ToArray<float>(), v => Assert.True(float.IsFinite(v)));
    }
}
