using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Quantization;

/// <summary>
/// Data-free ranges come from folded BatchNorm statistics. A model without any (eval-mode PyTorch exports fuse them
/// into the convolutions) is refused with what to give instead; a model where only some layers have them gets ranges
/// where the statistics reach and says how many, the rest staying in float.
/// </summary>
public class DataFreeStatisticsTests
{
    [Fact]
    public void AModelWithoutStatisticsIsRefusedWithWhatToGiveInstead()
    {
        var sim = QuantSim.Prepare(new FoldBatchNorm().Run(ConvChain(batchNormAfterFirst: false)).Graph, QConfigMapping.Default());
        var error = Assert.Throws<SharpQuantException>(() => DataFreeRanges.Apply(sim, (-1, 1)));
        Assert.Contains("needs BatchNorm statistics", error.Message);
        Assert.Contains($"only 1 of {sim.Quantizers.Count(q => q.Kind == QuantizerKind.Activation)} activation quantizers", error.Message);
        Assert.Contains("--images DIR", error.Message);
        Assert.Contains("--inputs DIR", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void WhereOnlySomeLayersHaveStatisticsTheReportCountsThem()
    {
        var sim = QuantSim.Prepare(new FoldBatchNorm().Run(ConvChain(batchNormAfterFirst: true)).Graph, QConfigMapping.Default());
        var report = DataFreeRanges.Apply(sim, (-1, 1));
        Assert.Equal(1, report.LayersWithStatistics);
        // The input (preset range) and the first conv's ReLU (its BatchNorm) get ranges; conv2's ReLU and conv3 do not.
        Assert.Equal(2, report.Ranges.Count);
        Assert.Equal(4, report.Total);
        Assert.Equal(2, report.Skipped.Count);
        Assert.Contains(report.Skipped, s => s.Reason.Contains("'conv2' has no statistics"));
        Assert.Contains(report.Skipped, s => s.Reason.Contains("'conv3' has no statistics"));
        // The first ReLU's range: max(0, β ± 6|γ|) over channels, β = [0.5, -0.25], γ = [2, 1].
        var relu = Assert.Single(report.Ranges, r => r.Source.Contains("BatchNorm of conv1"));
        Assert.Equal(0, relu.Lo);
        Assert.Equal(0.5 + 6 * 2, relu.Hi, 6);
    }

    [Fact]
    public void QuantizeDataFreeStopsWithOneErrorLineOnAModelWithoutStatistics()
    {
        using var temp = TestData.NewTempFolder();
        var model = temp.File("fused.onnx");
        OnnxModel.Save(ConvChain(batchNormAfterFirst: false), model);
        var (code, stdout, stderr) = SharpQuant.Tests.Cli.InspectCommandTests.Run("quantize", model, "--data-free", "-o", temp.File("q.onnx"));
        Assert.Equal(2, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: data-free quantization needs BatchNorm statistics", line);
        Assert.Contains("images with --images DIR, or input tensors (.npy) with --inputs DIR", line);
        Assert.False(File.Exists(temp.File("q.onnx")));
        Assert.DoesNotContain("wrote", stdout);
    }

    [Fact]
    public void QuantizeDataFreeSaysHowManyQuantizersGotRangesAndWhatHappenedToTheRest()
    {
        using var temp = TestData.NewTempFolder();
        var model = temp.File("partial.onnx");
        OnnxModel.Save(ConvChain(batchNormAfterFirst: true), model);
        var (code, stdout, stderr) = SharpQuant.Tests.Cli.InspectCommandTests.Run("quantize", model, "--data-free", "-o", temp.File("q.onnx"));
        Assert.True(code == 0, stderr);
        Assert.Contains("data-free ranges for 2 of 4 activation quantizers", stdout);
        // The console wraps long lines: compare with the line breaks taken out.
        Assert.Contains("from the BatchNorm statistics of 1 layers); the other 2 have no statistics upstream and stay in float", stdout.ReplaceLineEndings(" ").Replace("  ", " "));
        Assert.Equal(2, stderr.Split('\n').Count(l => l.StartsWith("warning: ") && l.EndsWith("has no statistics; it stays unquantized")));
        Assert.True(File.Exists(temp.File("q.onnx")));
    }

    [SkippableFact]
    public void TheZooMobileNetV2WithFusedBatchNormIsRefused()
    {
        var model = TestData.ZooModelPath("mobilenet_v2");
        using var temp = TestData.NewTempFolder();
        var (code, _, stderr) = SharpQuant.Tests.Cli.InspectCommandTests.Run("quantize", model, "--data-free", "--preset", "imagenet", "-o", temp.File("q.onnx"));
        Assert.Equal(2, code);
        Assert.Contains("error: data-free quantization needs BatchNorm statistics", stderr);
        Assert.Contains("only 1 of ", stderr);
    }

    [SkippableFact]
    public void ExactlyEqualizedRelu6BoundsKeepTheirDataFreeRanges()
    {
        var graph = OnnxModel.Load(TestData.ZooModelPath("mobilenet_v2_bn"));
        graph.MakeBatchDynamic();
        var equalized = new EqualizeCrossLayer().Run(new FoldBatchNorm().Run(SharpQuant.Passes.Normalization.NormalizeGraphExtensions.Normalize(graph)).Graph);
        Assert.Equal(17, equalized.Report.Discovery.TripleCount);
        var sim = QuantSim.Prepare(equalized.Graph, QConfigMapping.Default());
        var report = DataFreeRanges.Apply(sim, (-2.2, 2.7));
        // Every activation but the classifier's output (a Gemm without BatchNorm) gets a range, those after the
        // ReLU6 → Relu + per-channel Min rewrite and the global average pool's output (quantized for ONNX Runtime's
        // QLinearGlobalAveragePool) included, each no wider than its largest (rescaled) bound.
        Assert.Equal(52, report.LayersWithStatistics);
        Assert.Equal(65, report.Ranges.Count);
        Assert.Contains("'classifier.1' has no statistics", Assert.Single(report.Skipped).Reason);
        var throughMin = report.Ranges.Where(r => r.Source.Contains("Min")).ToList();
        // One quantizer after each of the 35 rewritten ReLU6s (every one of MobileNetV2's sits in a set), and the
        // global average pool's input and output after the last one.
        Assert.Equal(35, equalized.Graph.NodesOfType("Min").Count());
        Assert.Equal(37, throughMin.Count);
        Assert.All(throughMin, r => Assert.True(r.Lo == 0 && r.Hi > 0 && r.Hi < 100, $"{r.Quantizer}: [{r.Lo}, {r.Hi}]"));
    }

    /// <summary>x [1, 3, 8, 8] → conv1 (→ BatchNorm) → ReLU → conv2 → ReLU → conv3.</summary>
    private static Graph ConvChain(bool batchNormAfterFirst)
    {
        var g = new Graph();
        g.Info.OnnxOpset = 13;
        Value x = g.AddInput("x", ElementType.Float, [1, 3, 8, 8]);
        x = g.AddNode("Conv", [x, g.AddConstant("w1", Compare.RandomTensor(1, -1, 1, 2, 3, 3, 3)), g.AddConstant("b1", Tensor.FromFloats([0.1f, -0.1f], 2))], moduleName: "conv1").Output;
        if (batchNormAfterFirst)
        {
            Value Channels(string name, params float[] v) => g.AddConstant(name, Tensor.FromFloats(v, 2));
            x = g.AddNode("BatchNormalization", [x, Channels("gamma", 2f, 1f), Channels("beta", 0.5f, -0.25f), Channels("mean", 0f, 0.1f), Channels("var", 1f, 2f)], moduleName: "bn1").Output;
        }
        x = g.AddNode("Relu", [x], moduleName: "relu1").Output;
        x = g.AddNode("Conv", [x, g.AddConstant("w2", Compare.RandomTensor(2, -1, 1, 2, 2, 1, 1))], moduleName: "conv2").Output;
        x = g.AddNode("Relu", [x], moduleName: "relu2").Output;
        x = g.AddNode("Conv", [x, g.AddConstant("w3", Compare.RandomTensor(3, -1, 1, 2, 2, 1, 1))], moduleName: "conv3").Output;
        g.AddOutput(x);
        return g;
    }
}
