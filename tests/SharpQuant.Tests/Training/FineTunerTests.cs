using SharpQuant.Data;
using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Tests.Support;
using SharpQuant.Training;

namespace SharpQuant.Tests.Training;

public class FineTunerTests
{
    private const int Lines = 16;
    private const int Steps = 8;

    /// <summary>ppocr-cls with 4-bit per-tensor weights, calibrated on 16 rendered text lines (seed 2).</summary>
    private static (QuantSim Sim, Graph Float, List<Tensor> Batches) W4Ppocr()
    {
        TestData.RequireFonts();
        var model = TestModels.Ppocr();
        List<Tensor> batches;
        using (var set = new TextOrientationDataset(2, Lines))
        {
            batches = set.Batches(8).Select(b => b.Images).ToList();
        }
        var config = new QConfig(
            new QuantSpec { Bits = 8, Signed = false, Scheme = QuantScheme.Affine, Observer = ObserverKind.MinMax },
            new QuantSpec { Bits = 4, Signed = true, Scheme = QuantScheme.Symmetric, Observer = ObserverKind.MinMax });
        var sim = QuantSim.Prepare(model.FoldBatchNorm(), new QConfigMapping().SetGlobal(config));
        sim.Calibrate(batches);
        sim.EnableParamLearning();
        return (sim, model, batches);
    }

    private static (FineTuneResult Result, QuantSim Sim) FineTune(LearnedParts learn, int seed)
    {
        var (sim, model, batches) = W4Ppocr();
        var options = new FineTuneOptions { Steps = Steps, BatchSize = 8, Seed = seed, Learn = learn, Patience = 0 };
        return (FineTuner.Run(sim, model, batches, options), sim);
    }

    private static float[] Learned(QuantSim sim) =>
        sim.Quantizers.SelectMany(q => q.QParams.Scale.Concat(q.Kind == QuantizerKind.Weight ? q.Input.ConstantValue!.ToArray<float>() : [])).ToArray();

    [SkippableFact]
    public void ShortFineTuneLowersTheLossAndIsDeterministicBitForBit()
    {
        var (first, firstSim) = FineTune(LearnedParts.Scales | LearnedParts.Weights, seed: 3);
        Assert.Equal(Steps, first.Steps);
        Assert.False(first.StoppedEarly);
        Assert.True(first.FinalLoss < first.InitialLoss, $"loss {first.InitialLoss} → {first.FinalLoss}");
        var (second, secondSim) = FineTune(LearnedParts.Scales | LearnedParts.Weights, seed: 3);
        Assert.Equal(first.StepLosses, second.StepLosses);
        Assert.Equal(first.FinalLoss, second.FinalLoss);
        Assert.Equal(Learned(firstSim), Learned(secondSim));
        // Another seed visits the lines in another order.
        var (other, _) = FineTune(LearnedParts.Scales | LearnedParts.Weights, seed: 4);
        Assert.NotEqual(first.StepLosses, other.StepLosses);
    }

    [SkippableFact]
    public void LearnedScalesAreWrittenIntoTheSimulationAndStayPositive()
    {
        var (sim, model, batches) = W4Ppocr();
        var before = sim.Quantizers.ToDictionary(q => q.Name, q => q.QParams.Scale.ToArray());
        var weightsBefore = sim.Quantizers.Where(q => q.Kind == QuantizerKind.Weight).ToDictionary(q => q.Name, q => q.Input.ConstantValue!.ToArray<float>());
        var result = FineTuner.Run(sim, model, batches, new FineTuneOptions { Steps = 3, BatchSize = 8, Learn = LearnedParts.Scales });
        Assert.Equal(sim.Quantizers.Count, result.LearnedTensors);
        Assert.Contains(sim.Quantizers, q => !q.QParams.Scale.SequenceEqual(before[q.Name]));
        Assert.All(sim.Quantizers, q => Assert.All(q.QParams.Scale, s => Assert.True(s >= QuantMath.Eps)));
        // Scales only: the weights are untouched.
        Assert.All(sim.Quantizers.Where(q => q.Kind == QuantizerKind.Weight), q => Assert.Equal(weightsBefore[q.Name], q.Input.ConstantValue!.ToArray<float>()));
    }

    [SkippableFact]
    public void KlDistillationAndZeroPointsTrainOnTheModelThatLeavesLogitShapesOut()
    {
        // ppocr-cls's file has no shape for its logits: the loss nodes must carry theirs for the opset upgrade.
        var (sim, model, batches) = W4Ppocr();
        var options = new FineTuneOptions { Steps = 2, BatchSize = 8, Learn = LearnedParts.Scales | LearnedParts.ZeroPoints, Loss = DistillationLossKind.Kl, Temperature = 2f };
        var result = FineTuner.Run(sim, model, batches, options);
        Assert.Equal(2, result.Steps);
        Assert.True(result.InitialLoss > 0 && double.IsFinite(result.FinalLoss));
        Assert.All(sim.Quantizers.Where(q => q.Kind == QuantizerKind.Activation), q => Assert.InRange(q.QParams.ZeroPoint[0], 0, 255));
    }

    [SkippableFact]
    public void BadOptionsAreClearErrors()
    {
        var (sim, model, batches) = W4Ppocr();
        Assert.Throws<SharpQuantException>(() => FineTuner.Run(sim, model, batches, new FineTuneOptions { Steps = 0 }));
        Assert.Throws<SharpQuantException>(() => FineTuner.Run(sim, model, batches, new FineTuneOptions { ScaleLearningRate = float.NaN }));
        Assert.Throws<SharpQuantException>(() => FineTuner.Run(sim, model, [], new FineTuneOptions { Steps = 1 }));
        sim.EnableStaticEstimate();
        Assert.Contains("EnableParamLearning", Assert.Throws<SharpQuantException>(() => FineTuner.Run(sim, model, batches)).Message);
    }
}
