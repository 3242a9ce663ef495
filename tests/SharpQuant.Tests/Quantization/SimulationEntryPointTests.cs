using SharpQuant.Quantization;
using SharpQuant.Runtime;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Quantization;

/// <summary>The two ways the README's library code used to fail: a file with batch 1, and the plain executor on a simulation.</summary>
public class SimulationEntryPointTests
{
    private static readonly QConfig MinMaxConfig = new(
        new QuantSpec { Bits = 8, Signed = false, Scheme = QuantScheme.Affine, Observer = ObserverKind.MinMax },
        QuantSpec.FakeQuantWeight);

    [Fact]
    public void CalibrationOnBatchesOfEightWorksOnAModelThatDeclaresBatchOne()
    {
        var model = InputModels.Nchw(3, 16);
        Assert.Equal(1, model.Inputs[0].Shape![0].Size);
        var sim = QuantSim.Prepare(model, new QConfigMapping().SetGlobal(MinMaxConfig));
        var batches = new[] { Compare.RandomTensor(1, -2f, 3f, 8, 3, 16, 16), Compare.RandomTensor(2, -1f, 5f, 8, 3, 16, 16), Compare.RandomTensor(3, -4f, 1f, 3, 3, 16, 16) };

        sim.Calibrate(batches);

        // The input quantizer saw every sample of every batch: min-max over all three.
        var all = batches.SelectMany(b => b.ToArray<float>()).ToArray();
        var lo = Math.Min(0f, all.Min());
        var hi = Math.Max(0f, all.Max());
        var input = sim.Quantizers.Single(q => q.Input.IsGraphInput);
        Assert.Equal((hi - lo) / 255f, input.QParams.Scale[0], 1e-6f);
        // The simulation now takes any batch; the model it was prepared from keeps its declared batch of 1.
        Assert.Null(sim.Graph.Inputs[0].Shape![0].Size);
        Assert.Equal(1, model.Inputs[0].Shape![0].Size);
        using var executor = sim.CreateExecutor();
        Assert.Equal(8, executor.Run(batches[0]).Shape[0]);
    }

    [Fact]
    public void CalibrationKeepsTheDeclaredBatchWhenTheBatchesFitIt()
    {
        var model = InputModels.Nchw(3, 16);
        var sim = QuantSim.Prepare(model, new QConfigMapping().SetGlobal(MinMaxConfig));
        sim.Calibrate([Compare.RandomTensor(4, -1f, 1f, 1, 3, 16, 16)]);
        Assert.Equal(1, sim.Graph.Inputs[0].Shape![0].Size);
    }

    [Fact]
    public void ThePlainExecutorOnASimulationNamesTheExecutorToUse()
    {
        var sim = QuantSim.Prepare(InputModels.Nchw(3, 16), new QConfigMapping().SetGlobal(MinMaxConfig));
        using var plain = new GraphExecutor(sim.Graph);
        var error = Assert.Throws<SharpQuantException>(() => plain.Run(Compare.RandomTensor(5, -1f, 1f, 1, 3, 16, 16)));
        Assert.Contains("sim.CreateExecutor()", error.Message);
        Assert.Contains("sharpquant.FakeQuant", error.Message);
        Assert.DoesNotContain('\n', error.Message);
        // The executor the message names runs the same graph.
        using var executor = sim.CreateExecutor();
        Assert.Equal([1L, 4L], executor.Run(Compare.RandomTensor(5, -1f, 1f, 1, 3, 16, 16)).Shape);
    }
}
