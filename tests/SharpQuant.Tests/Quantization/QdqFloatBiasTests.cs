using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Passes.Normalization;
using SharpQuant.Quantization;
using SharpQuant.Runtime;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Quantization;

/// <summary>
/// The QDQ export never leaves a Conv/Gemm bias in float without saying so: every bias becomes int32 or the report
/// lists it with the reason, and `quantize` prints that list.
/// </summary>
public class QdqFloatBiasTests
{
    [SkippableTheory]
    [InlineData("mobilenet_v3_small", 5)]
    [InlineData("efficientnet_b0", 18)]
    public void ZooBiasesBehindIdentityAreListedAndAfterNormalizationAllBecomeInt32(string name, int computed)
    {
        var loaded = OnnxModel.Load(TestData.ZooModelPath(name));
        loaded.MakeBatchDynamic();
        var layersWithBias = loaded.Nodes.Count(n => n.OpType is "Conv" or "Gemm" && n.InputOrNull(2) is not null);

        var raw = Export(loaded, out _);
        Assert.Equal(computed, raw.FloatBiases.Count);
        Assert.All(raw.FloatBiases, b => Assert.StartsWith("its bias is computed by Identity", b.Reason));
        Assert.Equal(layersWithBias - computed, raw.Biases);

        var normalized = Export(loaded.Normalize(), out var graph);
        Assert.Empty(normalized.FloatBiases);
        Assert.Equal(layersWithBias, normalized.Biases);
        Assert.All(graph.Nodes.Where(n => n.OpType is "Conv" or "Gemm"), n => Assert.Equal("DequantizeLinear", n.Input(2).Producer?.OpType));
    }

    [Fact]
    public void QuantizeListsTheBiasesThatStayFloatWithTheReason()
    {
        using var temp = TestData.NewTempFolder();
        var model = temp.File("computed-bias.onnx");
        OnnxModel.Save(ComputedBiasModel(), model);
        var output = temp.File("q.onnx");
        var (code, stdout, stderr) = SharpQuant.Tests.Cli.InspectCommandTests.Run("quantize", model, "--data-free", "-o", output);
        Assert.True(code == 0, stderr);
        var text = stdout.ReplaceLineEndings(" ");
        Assert.Contains("int8 QDQ model: 2 weights", text);
        Assert.Contains("0 int32 biases", text);
        Assert.Contains("2 biases stay float32", text);
        // conv1's bias is b · 1 (a Mul normalization does not fold: float values are never recomputed); without
        // statistics for conv1 its output quantizer has no data-free range, so conv2's input stays float too.
        Assert.Matches(@"conv1: its bias is computed by Mul '[^']+', not a constant", text);
        Assert.Contains("conv2: its input is not quantized (no activation quantizer in front of it)", text);

        using var session = new GraphExecutor(OnnxModel.Load(output));
        Assert.Equal(2 * 8 * 8, session.Run(Compare.RandomTensor(1, 0, 255, 1, 3, 8, 8)).ElementCount);
    }

    private static QdqExportReport Export(Graph graph, out Graph exported)
    {
        var folded = new FoldBatchNorm().Run(graph).Graph;
        var sim = QuantSim.Prepare(folded, QConfigMapping.Default());
        sim.Calibrate([Compare.RandomTensor(21, -2f, 2f, 1, 3, 224, 224)]);
        exported = QdqExport.ToGraph(sim, out var report);
        return report;
    }

    /// <summary>x [1, 3, 8, 8] → conv1 (bias b·1) → ReLU → conv2 (constant bias) → BatchNorm → ReLU.</summary>
    private static Graph ComputedBiasModel()
    {
        var g = new Graph();
        g.Info.OnnxOpset = 13;
        Value x = g.AddInput("x", ElementType.Float, [1, 3, 8, 8]);
        var bias = g.AddNode("Mul", [g.AddConstant("conv1.b", Tensor.FromFloats([0.1f, -0.2f], 2)), g.AddConstant("one", Tensor.FromFloats([1f], 1))], moduleName: "conv1.bias_mul").Output;
        x = g.AddNode("Conv", [x, g.AddConstant("conv1.weight", Compare.RandomTensor(1, -1, 1, 2, 3, 3, 3)), bias], moduleName: "conv1",
            attributes: new Dictionary<string, AttributeValue> { ["pads"] = AttributeValue.Of([1L, 1, 1, 1]) }).Output;
        x = g.AddNode("Relu", [x], moduleName: "relu1").Output;
        x = g.AddNode("Conv", [x, g.AddConstant("conv2.weight", Compare.RandomTensor(2, -1, 1, 2, 2, 1, 1)), g.AddConstant("conv2.b", Tensor.FromFloats([0.3f, 0f], 2))], moduleName: "conv2").Output;
        Value Channels(string name, params float[] v) => g.AddConstant(name, Tensor.FromFloats(v, 2));
        x = g.AddNode("BatchNormalization", [x, Channels("bn.gamma", 2f, 1f), Channels("bn.beta", 0.5f, -0.25f), Channels("bn.mean", 0f, 0.1f), Channels("bn.var", 1f, 2f)], moduleName: "bn").Output;
        g.AddOutput(g.AddNode("Relu", [x], moduleName: "relu2").Output);
        return g;
    }
}
