using Microsoft.ML.OnnxRuntime;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Runtime;
using SharpQuant.Tests.Support;
using Xunit.Abstractions;

namespace SharpQuant.Tests.Quantization;

public class QdqExportTests(ITestOutputHelper output)
{
    private static readonly QConfig MinMaxConfig = new(
        new QuantSpec { Bits = 8, Signed = false, Scheme = QuantScheme.Affine, Observer = ObserverKind.MinMax },
        QuantSpec.FakeQuantWeight);

    private static QuantSim CalibratedResNet18(Tensor images)
    {
        var graph = TestModels.ResNet18().FoldBatchNorm().Equalize();
        var sim = QuantSim.Prepare(graph, new QConfigMapping().SetGlobal(IntegerFormat.ForThisCpu().Apply(MinMaxConfig)));
        sim.Calibrate([images]);
        return sim;
    }

    [SkippableFact]
    public void ExportedResNet18RunsInt8KernelsAndAgreesWithTheSimulation()
    {
        var images = RealImages.ResNet18Batch();
        var sim = CalibratedResNet18(images);
        var exported = QdqExport.ToGraph(sim, out var report);
        Assert.Equal(22, report.Weights);
        Assert.Equal(22, report.Biases);
        Assert.Equal(13, report.Opset);
        Assert.InRange((double)report.FloatBytes / report.QuantizedBytes, 3.8, 4.1);
        Assert.Contains(exported.Nodes, n => n.OpType == "Relu");
        Assert.DoesNotContain(exported.Nodes, FakeQuantOp.Is);

        using var simulation = sim.CreateExecutor();
        using var deployed = new GraphExecutor(exported);
        var expected = simulation.Run(images).ToArray<float>();
        var actual = deployed.Run(images).ToArray<float>();
        // The output is the average pool of the last Add+ReLU quantizer: compare in units of its step.
        var step = sim.Quantizers.Single(q => q.Target == "stage4.block2.relu2").QParams.Scale[0];
        var diffs = expected.Zip(actual, (e, a) => Math.Abs(e - a) / step).ToArray();
        output.WriteLine($"max diff {diffs.Max():F3} steps, mean {diffs.Average():F4} steps, step {step}");
        // Every convolution unit is simulated as QLinearConv computes it (IntegerConvUnit), so the quantized values
        // agree exactly and only float rounding in the unquantized tail (the average pool) remains: measured max
        // 0.000 steps on the 4 photos (the float simulation of the same units had measured 0.82–1.20 steps). The
        // issue asks for at most one step.
        Assert.True(diffs.Max() <= 1, $"max difference {diffs.Max():F3} steps of the output quantizer");
        Assert.True(diffs.Average() <= 1e-3, $"mean difference {diffs.Average():F3} steps of the output quantizer");
    }

    [SkippableFact]
    public void OnnxRuntimeFusesTheExportIntoIntegerOps()
    {
        using var temp = TestData.NewTempFolder();
        var sim = CalibratedResNet18(RealImages.ResNet18Batch());
        var path = temp.File("int8.onnx");
        QdqExport.Save(sim, path);
        var optimized = temp.File("optimized.onnx");
        using (var options = new SessionOptions { OptimizedModelFilePath = optimized, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_EXTENDED })
        using (new InferenceSession(path, options))
        {
        }
        var proto = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimized));
        var ops = proto.Graph.Node.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine(string.Join(", ", ops.Select(kv => $"{kv.Key}={kv.Value}")));
        Assert.Equal(22, ops.GetValueOrDefault("QLinearConv"));
        Assert.False(ops.ContainsKey("Conv"));
        Assert.InRange(new FileInfo(TestModels.ResNet18Path).Length / (double)new FileInfo(path).Length, 3.8, 4.1);
    }
}
