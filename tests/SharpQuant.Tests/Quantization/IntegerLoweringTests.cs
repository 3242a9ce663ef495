using FsCheck;
using FsCheck.Fluent;
using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Runtime;
using SharpQuant.Tests.Support;
using Xunit.Abstractions;

namespace SharpQuant.Tests.Quantization;

/// <summary>
/// The simulation lowers fully quantized convolutions as ONNX Runtime's QLinearConv computes them (IntegerConvUnit):
/// the lowered simulation and the QDQ export, run by ONNX Runtime, must then give the same values.
/// </summary>
public class IntegerLoweringTests(ITestOutputHelper output)
{
    private static readonly QConfig MinMaxConfig = new(
        new QuantSpec { Bits = 8, Signed = false, Scheme = QuantScheme.Affine, Observer = ObserverKind.MinMax },
        QuantSpec.FakeQuantWeight);

    public static TheoryData<int> Nets() => [.. Enumerable.Range(0, 12)];

    [Theory]
    [MemberData(nameof(Nets))]
    public void RandomConvNetsSimulateExactlyWhatTheExportComputes(int index)
    {
        var spec = Gen.Sample(RandomConvNets.Specs(), numberOfSamples: 12, seed: new Rnd(20261128UL), size: 50).ToArray()[index];
        var graph = RandomConvNets.Build(spec, index).FoldBatchNorm();
        var calibration = RandomConvNets.Input(spec, index);
        var sim = QuantSim.Prepare(graph, new QConfigMapping().SetGlobal(IntegerFormat.ForThisCpu().Apply(MinMaxConfig)));
        sim.Calibrate([calibration]);

        var lowered = FakeQuantLowering.Lower(sim.Graph);
        var units = lowered.Nodes.Count(n => n.ModuleName.EndsWith(".integer.conv", StringComparison.Ordinal));
        output.WriteLine($"{spec}\nconvs {graph.Nodes.Count(n => n.OpType == "Conv")}, in integer form {units}");

        using var simulation = sim.CreateExecutor();
        using var deployed = new GraphExecutor(QdqExport.ToGraph(sim, out _));
        foreach (var seed in new[] { index + 100, index + 200 })
        {
            var input = RandomConvNets.Input(spec, seed);
            var error = Compare.RelativeMaxError(deployed.Run(input).Floats, simulation.Run(input).Floats);
            output.WriteLine($"max |export − simulation| / max |simulation| = {error:E2}");
            // Exact at every quantized value; a head left in float (a last conv, a Gemm) keeps float32 rounding,
            // measured at most 1.7e-7 of the output's range. A single flipped integer would show as about 1e-3.
            Assert.True(error <= 1e-6, $"relative difference {error:E2}");
        }
    }

    [SkippableFact]
    public void PpocrExportAgreesWithTheSimulationOnRealLines()
    {
        // Depthwise convolutions, hard-swish, squeeze-excitation Muls and a Gemm head: the units in integer form
        // are exact and the rest runs the same float ops in both: all 53 convolutions are in integer form and the
        // probabilities measured exactly equal on the 9 lines.
        var images = RealImages.PpocrBatch();
        var graph = TestModels.Ppocr().FoldBatchNorm();
        var sim = QuantSim.Prepare(graph, new QConfigMapping().SetGlobal(IntegerFormat.ForThisCpu().Apply(MinMaxConfig)));
        sim.Calibrate([images]);
        var lowered = FakeQuantLowering.Lower(sim.Graph);
        var units = lowered.Nodes.Count(n => n.ModuleName.EndsWith(".integer.conv", StringComparison.Ordinal));
        using var simulation = sim.CreateExecutor();
        using var deployed = new GraphExecutor(QdqExport.ToGraph(sim, out _));
        var expected = simulation.Run(images).ToArray<float>();
        var actual = deployed.Run(images).ToArray<float>();
        var error = expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second));
        output.WriteLine($"{units} of {graph.Nodes.Count(n => n.OpType == "Conv")} convolutions in integer form; max |export − simulation| = {error:E2} (outputs are probabilities)");
        Assert.True(error <= 1e-6, $"max difference {error:E2}");
    }

    [Fact]
    public void AConvUnitIsLoweredToIntegerConvolutionAndOneRequantizingMultiply()
    {
        var graph = TestModels.ResNet18().FoldBatchNorm();
        var sim = QuantSim.Prepare(graph, new QConfigMapping().SetGlobal(MinMaxConfig));
        // Before calibration the activation quantizers are off: nothing is fully quantized, everything stays float.
        Assert.DoesNotContain(FakeQuantLowering.Lower(sim.Graph).Nodes, n => n.ModuleName.EndsWith(".integer.conv", StringComparison.Ordinal));

        var calibration = Compare.RandomTensor(3, -2f, 2f, 1, 3, 224, 224);
        sim.Calibrate([calibration]);
        var lowered = FakeQuantLowering.Lower(sim.Graph);
        var conv = lowered.Nodes.Single(n => n.ModuleName == "stage2.block0.conv1.integer.conv");
        var weight = conv.Input(1).ConstantValue!.ToArray<float>();
        Assert.All(weight, w => Assert.True(w == MathF.Round(w) && w is >= -128 and <= 127, $"weight {w} is not an int8 value"));
        var bias = conv.Input(2).ConstantValue!.ToArray<float>();
        Assert.All(bias, b => Assert.Equal(MathF.Round(b), b));
        // The input is the previous quantizer's centred integers q − z (its Sub), not its float value.
        Assert.Equal("Sub", conv.Input(0).Producer!.OpType);
        var requantize = conv.Output.Uses.Single().Node;
        Assert.Equal("Mul", requantize.OpType);
        var m = requantize.Input(1).ConstantValue!.ToArray<float>();
        var x = sim.Quantizers.Single(q => q.Target == "stage1.block1.relu2").QParams;
        var w = sim.Quantizers.Single(q => q.Name == "stage2.block0.conv1.weight_fake_quant").QParams;
        var y = sim.Quantizers.Single(q => q.Target == "stage2.block0.relu1").QParams;
        for (var c = 0; c < m.Length; c++)
        {
            Assert.Equal(x.Scale[0] * w.Scale[c] / y.Scale[0], m[c]);
        }
        Assert.Equal("Relu", requantize.Output.Uses.Single().Node.OpType);
        // The float value the output quantizer reads is not on the integer path; tapped, it comes from the float
        // convolution kept beside the unit, and quantizing it gives the unit's integers but where float rounding
        // tips a value over a rounding boundary (measured none here; never more than one step).
        var relu1 = sim.Quantizers.Single(q => q.Target == "stage2.block0.relu1");
        using (var executor = sim.CreateExecutor())
        {
            var run = executor.Run(new Dictionary<string, Tensor> { [graph.Inputs[0].Name] = calibration }, [relu1.Input.Name, relu1.Node.Output.Name]);
            var requantized = QuantMath.FakeQuantize(run[relu1.Input.Name], y).ToArray<float>();
            var integer = run[relu1.Node.Output.Name].ToArray<float>();
            var differing = requantized.Zip(integer).Count(p => p.First != p.Second);
            var worst = requantized.Zip(integer).Max(p => Math.Abs(p.First - p.Second)) / y.Scale[0];
            output.WriteLine($"tapped float value requantized: {differing} of {integer.Length} differ, by at most {worst:F3} steps");
            Assert.True(differing <= integer.Length / 10000, $"{differing} values differ");
            Assert.True(worst <= 1.0001, $"{worst} steps");
        }
        // Every convolution of ResNet18 feeds an output quantizer, so all 22 are in integer form (the stem, whose
        // near-dead channels have huge integer biases, adds its bias in int32).
        var units = lowered.Nodes.Count(n => n.ModuleName.EndsWith(".integer.conv", StringComparison.Ordinal));
        output.WriteLine($"{units} units in integer form, {lowered.Nodes.Count(n => n.ModuleName.EndsWith(".integer.add_bias", StringComparison.Ordinal))} with an int32 bias add");
        Assert.Equal(22, units);
        Assert.Equal(22, lowered.Nodes.Count(n => n.OpType == "Conv"));
        Assert.Single(lowered.Nodes, n => n.ModuleName == "stem.conv1.integer.add_bias");
    }

    [Fact]
    public void AnAddUnitComputesWhatQLinearAddComputes()
    {
        var graph = TestModels.ResNet18().FoldBatchNorm();
        var sim = QuantSim.Prepare(graph, new QConfigMapping().SetGlobal(IntegerFormat.U8S8.Apply(MinMaxConfig)));
        var calibration = Compare.RandomTensor(5, -2f, 2f, 1, 3, 224, 224);
        sim.Calibrate([calibration]);
        // Every residual Add of ResNet18 reads two activation quantizers and feeds one through its ReLU: 9 units.
        var lowered = FakeQuantLowering.Lower(sim.Graph);
        Assert.Equal(9, lowered.Nodes.Count(n => n.ModuleName.EndsWith(".integer.fma_a_add", StringComparison.Ordinal)));

        // The lowered unit gives, value for value, MLAS's formula evaluated here with fused multiply-adds:
        // q_c = clip(round(fma(a, r_a, fma(b, r_b, F)))), on the raw integers of the two inputs.
        var add = sim.Graph.Nodes.First(n => n.OpType == "Add" && n.ModuleName.StartsWith("stage2.block1", StringComparison.Ordinal));
        var fa = add.Input(0).Producer!;
        var fb = add.Input(1).Producer!;
        var fc = add.Output.Uses.Single().Node.Output.Uses.Single().Node;
        var (pa, pb, pc) = (FakeQuantOp.Read(fa), FakeQuantOp.Read(fb), FakeQuantOp.Read(fc));
        using var executor = sim.CreateExecutor();
        var run = executor.Run(new Dictionary<string, Tensor> { [graph.Inputs[0].Name] = calibration }, [fa.Output.Name, fb.Output.Name, fc.Output.Name]);
        int[] Integers(Value v, QParams p) => run[v.Name].ToArray<float>().Select(x => (int)MathF.Round(x / p.Scale[0]) + p.ZeroPoint[0]).ToArray();
        var (a, b, c) = (Integers(fa.Output, pa), Integers(fb.Output, pb), Integers(fc.Output, pc));
        var ra = pa.Scale[0] / pc.Scale[0];
        var rb = pb.Scale[0] / pc.Scale[0];
        var productA = ra * pa.ZeroPoint[0];
        var productB = rb * pb.ZeroPoint[0];
        var fixedPart = pc.ZeroPoint[0] - (productA + productB);
        var mismatches = 0;
        for (var i = 0; i < c.Length; i++)
        {
            var kernel = Math.Clamp((int)MathF.Round(MathF.FusedMultiplyAdd(a[i], ra, MathF.FusedMultiplyAdd(b[i], rb, fixedPart))), pc.QMin, pc.QMax);
            mismatches += kernel == c[i] ? 0 : 1;
        }
        output.WriteLine($"{add.ModuleName}: {mismatches} of {c.Length} values differ from the kernel formula");
        Assert.Equal(0, mismatches);
    }
}
