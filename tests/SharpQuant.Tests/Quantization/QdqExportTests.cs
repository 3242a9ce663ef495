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

    private static QuantSim CalibratedResNet18(Tensor images, IntegerFormat format)
    {
        var graph = TestModels.ResNet18().FoldBatchNorm().Equalize();
        var sim = QuantSim.Prepare(graph, new QConfigMapping().SetGlobal(format.Apply(MinMaxConfig)));
        sim.Calibrate([images]);
        return sim;
    }

    public static TheoryData<string> Formats() => [.. IntegerFormat.All.Select(f => f.Name)];

    [SkippableTheory]
    [MemberData(nameof(Formats))]
    public void ExportedResNet18RunsInt8KernelsAndAgreesWithTheSimulation(string formatName)
    {
        var format = IntegerFormat.Parse(formatName);
        var cpu = CpuFeatures.Detect();
        var images = RealImages.ResNet18Batch();
        var sim = CalibratedResNet18(images, format);
        var exported = QdqExport.ToGraph(sim, out var report, format);
        Assert.Equal(22, report.Weights);
        Assert.Equal(22, report.Biases);
        Assert.Equal(13, report.Opset);
        Assert.InRange((double)report.FloatBytes / report.QuantizedBytes, 3.8, 4.1);
        Assert.Contains(exported.Nodes, n => n.OpType == "Relu");
        Assert.DoesNotContain(exported.Nodes, FakeQuantOp.Is);
        Assert.Equal(formatName, exported.Info.MetadataProps[IntegerFormat.FormatMetadataKey]);

        using var simulation = sim.CreateExecutor();
        using var deployed = new GraphExecutor(exported);
        var expected = simulation.Run(images).ToArray<float>();
        var actual = deployed.Run(images).ToArray<float>();
        // The output is the average pool of the last Add+ReLU quantizer: compare in units of its step.
        var step = sim.Quantizers.Single(q => q.Target == "stage4.block2.relu2").QParams.Scale[0];
        var diffs = expected.Zip(actual, (e, a) => Math.Abs(e - a) / step).ToArray();
        var exact = format.SimulationIsExactOn(cpu);
        output.WriteLine($"{format.Name} on {cpu.Describe()} (exact: {exact}): max diff {diffs.Max():F3} steps, mean {diffs.Average():F4} steps, step {step}");
        if (exact)
        {
            // Every convolution and Add unit is simulated as QLinearConv and QLinearAdd compute them (IntegerConvUnit,
            // IntegerAddUnit), so the quantized values agree exactly and only float rounding in the unquantized tail
            // (the average pool) remains: measured max 0.000 steps on the 4 photos, where the float simulation of the
            // Adds had differed by up to 3 steps in the last stage with 7-bit weights.
            Assert.True(diffs.Max() <= 1e-3, $"max difference {diffs.Max():F3} steps of the output quantizer");
        }
        else
        {
            // Kernels the simulation does not reproduce (signed activations on x86, saturating 8-bit weights without
            // VNNI) still land near it: measured mean 0.04, max 0.51 steps for s8s8 on an AVX-512 VNNI CPU. The bound
            // only catches a broken export.
            Assert.True(diffs.Average() <= 0.5, $"mean difference {diffs.Average():F3} steps of the output quantizer");
        }
    }

    [SkippableFact]
    public void OnnxRuntimeFusesTheExportIntoIntegerOps()
    {
        using var temp = TestData.NewTempFolder();
        var format = IntegerFormat.ForThisCpu();
        var sim = CalibratedResNet18(RealImages.ResNet18Batch(), format);
        var path = temp.File("int8.onnx");
        QdqExport.Save(sim, path, format);
        using (var session = new InferenceSession(path))
        {
            // The export says which format it holds and which processor it was chosen for.
            var metadata = session.ModelMetadata.CustomMetadataMap;
            Assert.Equal(format.Name, metadata[IntegerFormat.FormatMetadataKey]);
            Assert.Equal(CpuFeatures.Detect().Describe(), metadata[IntegerFormat.CpuMetadataKey]);
        }
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
