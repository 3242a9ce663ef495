using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Tests.Support;
using SharpQuant.Training;

namespace SharpQuant.Tests.Training;

public class ParameterSetTests
{
    private static QuantSim CalibratedResNet18()
    {
        var config = new QConfig(
            new QuantSpec { Bits = 8, Signed = false, Scheme = QuantScheme.Affine, Observer = ObserverKind.MinMax },
            new QuantSpec { Bits = 4, Signed = true, Scheme = QuantScheme.Symmetric, Observer = ObserverKind.MinMax });
        var sim = QuantSim.Prepare(TestModels.ResNet18().FoldBatchNorm(), new QConfigMapping().SetGlobal(config));
        sim.Calibrate([TestModels.ResNet18Input(1)]);
        return sim;
    }

    [Fact]
    public void OnlyLearningQuantizersAreSelectedAndNothingLearningIsAnError()
    {
        var sim = CalibratedResNet18();
        Assert.Contains("EnableParamLearning", Assert.Throws<SharpQuantException>(() => ParameterSet.Select(sim, LearnedParts.Scales)).Message);
        Assert.Equal(1, sim.EnableParamLearning("stage2.block0.conv1.*"));
        var set = ParameterSet.Select(sim, LearnedParts.Scales | LearnedParts.ZeroPoints | LearnedParts.Weights);
        // The weight quantizer: its scale and its weight; symmetric, so no zero point.
        Assert.Equal(["stage2.block0.conv1.weight_fake_quant.scale", sim["stage2.block0.conv1.weight_fake_quant"].Input.Name], set.Names);
        Assert.Throws<SharpQuantException>(() => ParameterSet.Select(sim, LearnedParts.None));
    }

    [Fact]
    public void ScalesZeroPointsAndWeightsOfEveryLearningQuantizer()
    {
        var sim = CalibratedResNet18();
        sim.EnableParamLearning();
        var weights = sim.Quantizers.Count(q => q.Kind == QuantizerKind.Weight);
        var activations = sim.Quantizers.Count(q => q.Kind == QuantizerKind.Activation);
        Assert.Equal(weights + activations, ParameterSet.Select(sim, LearnedParts.Scales).Count);
        var all = ParameterSet.Select(sim, LearnedParts.Scales | LearnedParts.ZeroPoints | LearnedParts.Weights);
        Assert.Equal(weights, all.Parameters.Count(p => p.Role == ParameterRole.Weight));
        Assert.Equal(activations, all.Parameters.Count(p => p.Role == ParameterRole.ZeroPoint));
        var weight = all.Parameters.First(p => p.Role == ParameterRole.Weight);
        Assert.Equal(weight.Quantizer.Input.ConstantValue!.ElementCount, weight.Values.Length);
        Assert.Equal(weight.Quantizer.Input.ConstantValue!.Shape, weight.Shape);
        Assert.All(all.ToTensors(), kv => Assert.Equal(sim.Graph.GetValue(kv.Key).ConstantValue!.ToArray<float>(), kv.Value.ToArray<float>()));
    }

    [Fact]
    public void ConstraintsKeepScalesPositiveAndZeroPointsOnTheGrid()
    {
        var sim = CalibratedResNet18();
        sim.EnableParamLearning();
        var set = ParameterSet.Select(sim, LearnedParts.Scales | LearnedParts.ZeroPoints);
        var scale = set.Parameters.First(p => p.Role == ParameterRole.Scale);
        var zero = set.Parameters.First(p => p.Role == ParameterRole.ZeroPoint);
        scale.Values[0] = -1f;
        zero.Values[0] = 300f;
        scale.Constrain();
        zero.Constrain();
        Assert.Equal(QuantMath.Eps, scale.Values[0]);
        Assert.Equal(255f, zero.Values[0]);
        zero.Values[0] = -0.2f;
        zero.Constrain();
        Assert.Equal(0f, zero.Values[0]);
    }

    [Fact]
    public void WriteBackUpdatesTheSimulationWithZeroPointsRoundedHalfToEven()
    {
        var sim = CalibratedResNet18();
        sim.EnableParamLearning();
        var set = ParameterSet.Select(sim, LearnedParts.Scales | LearnedParts.ZeroPoints | LearnedParts.Weights);
        var zero = set.Parameters.First(p => p.Role == ParameterRole.ZeroPoint);
        var scale = set.Parameters.First(p => p.Role == ParameterRole.Scale && p.Quantizer == zero.Quantizer);
        var weight = set.Parameters.First(p => p.Role == ParameterRole.Weight);
        zero.Values[0] = 12.5f;
        scale.Values[0] = 0.125f;
        weight.Values[3] = 42f;
        Assert.Equal(Math.Abs(0.125 / scale.Initial[0] - 1), scale.MaxRelativeChange(), 6);
        set.WriteBack();
        Assert.Equal(12, zero.Quantizer.QParams.ZeroPoint[0]);
        Assert.Equal(0.125f, zero.Quantizer.QParams.Scale[0]);
        Assert.Equal(42f, sim.Graph.GetValue(weight.Name).ConstantValue!.ToArray<float>()[3]);
        Assert.Equal(weight.Shape, sim.Graph.GetValue(weight.Name).ConstantValue!.Shape);
    }
}
