using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Runtime;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Quantization;

public class QuantSimTests
{
    private static readonly QConfig MinMaxConfig = new(
        new QuantSpec { Bits = 8, Signed = false, Scheme = QuantScheme.Affine, Observer = ObserverKind.MinMax },
        QuantSpec.FakeQuantWeight);

    [Fact]
    public void MappingResolvesInTheDocumentedOrder()
    {
        var g = TestModels.ResNet18().FoldBatchNorm();
        var a = new QConfig(null, QuantSpec.FakeQuantWeight);
        var b = new QConfig(QuantSpec.FakeQuantAct, null);
        var c = new QConfig(QuantSpec.FakeQuantAct, QuantSpec.FakeQuantWeight);
        var mapping = new QConfigMapping().SetGlobal(a).SetOpType("Conv", b)
            .SetModuleNamePattern("stage2.*", c).SetModuleName("stage2.block0.conv1", a).Exclude("stage3.block1.*");
        Assert.Same(a, mapping.Resolve(g.FindNode("stage2.block0.conv1")!));
        Assert.Same(c, mapping.Resolve(g.FindNode("stage2.block0.conv2")!));
        Assert.Same(b, mapping.Resolve(g.FindNode("stage1.block0.conv1")!));
        Assert.Same(a, mapping.Resolve(g.FindNode("stage1.block0.add")!));
        Assert.Null(mapping.Resolve(g.FindNode("stage3.block1.conv1")!));
        mapping.SetModuleName("stage1.block0.conv1", null);
        Assert.Null(mapping.Resolve(g.FindNode("stage1.block0.conv1")!));
    }

    [Fact]
    public void PrepareQuantizesWeightsAndActivationsButNeverBetweenAConvAndItsRelu()
    {
        var g = TestModels.ResNet18().FoldBatchNorm();
        var sim = QuantSim.Prepare(g, new QConfigMapping().SetGlobal(MinMaxConfig));
        var weights = sim.Quantizers.Where(q => q.Kind == QuantizerKind.Weight).ToList();
        Assert.Equal(22, weights.Count);
        Assert.Contains(sim.Quantizers, q => q.Name == "stage2.block0.conv1.weight_fake_quant");
        var activations = sim.Quantizers.Where(q => q.Kind == QuantizerKind.Activation).ToList();
        // Model input, 22 conv units (13 ending in a ReLU, 9 conv2 + 3 downsample feeding Adds... counted by unit ends) and 9 Add+ReLU units.
        Assert.Contains(activations, q => q.Input.IsGraphInput);
        // No activation quantizer reads a conv output that a ReLU also reads (that would sit between them).
        Assert.DoesNotContain(activations, q => q.Input.Producer?.OpType == "Conv" && q.Input.Uses.Any(u => u.Node.OpType == "Relu"));
        Assert.DoesNotContain(sim.Graph.Nodes, n => n.OpType == "Relu" && n.Input(0).Producer is { } p && FakeQuantOp.Is(p) && p.Input(0).Producer?.OpType == "Conv");
        Assert.Contains(activations, q => q.Target == "stage1.block0.relu1");
        Assert.Contains(activations, q => q.Target == "stage1.block0.relu2");
        Assert.Contains(activations, q => q.Target == "stage1.block0.conv2");
        // The original graph is untouched.
        Assert.DoesNotContain(g.Nodes, FakeQuantOp.Is);
    }

    [SkippableFact]
    public void CalibrationSetsRangesFromTheTappedValuesAndDisabledQuantizersAreTheIdentity()
    {
        var images = RealImages.ResNet18Batch();
        var g = TestModels.ResNet18().FoldBatchNorm();
        var sim = QuantSim.Prepare(g, new QConfigMapping().SetGlobal(MinMaxConfig));
        // Before calibration only the weights are fake-quantized; activations are observed as they flow.
        var q = sim.Quantizers.First(q => q.Target == "stage2.block0.relu1");
        Assert.False(q.FakeQuantEnabled);
        float max;
        // The same session settings as calibration: a different layout sums in another order and moves the max.
        using (var observed = sim.CreateExecutor())
        {
            // ... and the same taps: which values are exposed decides which ops ONNX Runtime may fuse.
            var taps = sim.Quantizers.Where(a => a.Kind == QuantizerKind.Activation).Select(a => a.Input.Name).Distinct().ToArray();
            max = observed.Run(new Dictionary<string, Tensor> { [g.Inputs[0].Name] = images }, taps)[q.Input.Name].ToArray<float>().Max();
        }
        sim.Calibrate([images]);

        // The activation quantizer's range is the min/max of exactly what it saw.
        var expected = QuantMath.FromRange(0, max, MinMaxConfig.Activation!);
        Assert.Equal(expected.Scale, q.QParams.Scale[0]);
        Assert.Equal(expected.ZeroPoint, q.QParams.ZeroPoint[0]);
        using var floatRun = new GraphExecutor(g);
        Assert.False(q.ObserverEnabled);
        Assert.True(q.FakeQuantEnabled);

        using var quantRun = sim.CreateExecutor();
        var quantized = quantRun.Run(images);
        var reference = floatRun.Run(images);
        var error = Compare.RelativeMaxError(quantized.Floats, reference.Floats);
        Assert.InRange(error, 1e-4, 0.5);

        Assert.Equal(sim.Quantizers.Count, sim.SetFakeQuant("*", false));
        Compare.BitwiseEqual(quantRun.Run(images), reference);
        Assert.Equal(22, sim.SetFakeQuant("*.weight_fake_quant", true));
        Assert.True(Compare.RelativeMaxError(quantRun.Run(images).Floats, reference.Floats) > 0);
    }

    [Fact]
    public void WeightQuantizersArePerChannelOnTheOutputAxis()
    {
        var g = TestModels.ResNet18().FoldBatchNorm();
        var sim = QuantSim.Prepare(g, QConfigMapping.Default());
        var q = sim["stage2.block0.conv1.weight_fake_quant"];
        var p = q.QParams;
        Assert.Equal(128, p.Count);
        Assert.Equal(0, p.Axis);
        var ranges = LinearLayer.Create(g.FindNode("stage2.block0.conv1")!).OutputRanges(RangeMode.MaxAbs);
        for (var c = 0; c < 128; c++)
        {
            Assert.Equal((float)Math.Max(ranges[c] / 127.5, QuantMath.Eps), p.Scale[c]);
            Assert.Equal(0, p.ZeroPoint[c]);
        }
    }

    [Fact]
    public void TutorialLearnableMappingUsesTheInitialScales()
    {
        var g = TestModels.ResNet18().FoldBatchNorm();
        var sim = QuantSim.Prepare(g, QConfigMapping.TutorialLearnable(g));
        var act = sim.Quantizers.First(q => q.Kind == QuantizerKind.Activation && q.Target == "stage1.block0.relu1");
        Assert.Equal((float)(2 / 255.0), act.QParams.Scale[0]);
        Assert.True(act.FakeQuantEnabled);
        Assert.True(act.Spec.Learnable);
    }
}

public class QuantizerToggleTests
{
    [Fact]
    public void BulkTogglesFollowPyTorchsSemantics()
    {
        var sim = QuantSim.Prepare(TestModels.ResNet18().FoldBatchNorm(), QConfigMapping.Default());
        Assert.Equal(22, sim.EnableParamLearning("*.weight_fake_quant"));
        var weight = sim["stage1.block0.conv1.weight_fake_quant"];
        Assert.True(weight.LearningEnabled && weight.FakeQuantEnabled && !weight.ObserverEnabled);

        var acts = sim.Quantizers.Count - 22;
        Assert.Equal(acts, sim.EnableStaticObservation("*.activation_fake_quant"));
        Assert.All(sim.Match("*.activation_fake_quant"), q => Assert.True(q.ObserverEnabled && !q.FakeQuantEnabled && !q.LearningEnabled));

        Assert.Equal(sim.Quantizers.Count, sim.EnableStaticEstimate());
        Assert.All(sim.Quantizers, q => Assert.True(q.ObserverEnabled && q.FakeQuantEnabled && !q.LearningEnabled));

        Assert.Equal(2, sim.SetObserver("stage1.block?.conv1.weight_fake_quant", false));
        Assert.False(sim["stage1.block1.conv1.weight_fake_quant"].ObserverEnabled);
        Assert.Equal(0, sim.SetFakeQuant("no.such.*", false));
    }

    [Fact]
    public void QParamsPrintLikeTheTutorial()
    {
        var sim = QuantSim.Prepare(TestModels.ResNet18().FoldBatchNorm(), QConfigMapping.Default());
        var weight = QParamsReport.Of(sim, "stage2.block0.conv1.weight_fake_quant").Single();
        var text = QParamsReport.Format(weight);
        Assert.StartsWith("stage2.block0.conv1.weight_fake_quant scale (128 channels, axis 0):", text);
        Assert.Equal(1 + 15, text.Split('\n').Length);
        var single = new QuantizerParameters("x.activation_fake_quant", "activation", "x", "uint8", [0.0123456f], [7], null);
        Assert.Equal("x.activation_fake_quant scale: 0.012346 zero_point: 7", QParamsReport.Format(single));
    }
}
