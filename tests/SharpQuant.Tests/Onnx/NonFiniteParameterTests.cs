using SharpQuant.Onnx;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Onnx;

/// <summary>
/// Issue 16, item 13: NaN or infinite weights and BatchNorm statistics that do not normalize are refused by every
/// command (fold and equalize used to exit 0 with a model computing NaN), naming the tensor and the channel.
/// </summary>
public class NonFiniteParameterTests
{
    public static TheoryData<string, float, int, string> Weights() => new()
    {
        // tensor, value, flat index, expected fragment
        { "c1.w", float.NaN, 3 * 36 + 5, "weight 'c1.w' holds NaN in output channel 3 (element 113)" },
        { "c2.w", float.PositiveInfinity, 8 * 6 + 2, "weight 'c2.w' holds +Inf in output channel 6 (element 50)" },
        { "c2.b", float.NegativeInfinity, 4, "bias 'c2.b' holds -Inf in channel 4" },
    };

    [Theory]
    [MemberData(nameof(Weights))]
    public void NonFiniteWeightIsRefusedInEveryCommand(string tensor, float value, int index, string expected)
    {
        var model = HostileModels.ConvPair();
        model.Initializer(tensor).FloatData[index] = value;
        foreach (var command in HostileModels.EditingCommands.Append(["inspect"]))
        {
            if (command[0] == "inspect")
            {
                var e = Assert.Throws<InvalidModelException>(() => OnnxModel.Load(model.Bytes()));
                Assert.Contains(expected, e.Message);
                continue;
            }
            HostileModels.AssertRefused(model, command, $"node '{tensor[..2]}' (Conv): {expected}");
        }
    }

    public static TheoryData<string, float, float?, string> BatchNorms() => new()
    {
        { "bn.scale", float.NaN, null, "scale 'bn.scale' holds NaN in channel 2" },
        { "bn.scale", float.PositiveInfinity, null, "scale 'bn.scale' holds +Inf in channel 2" },
        { "bn.bias", float.NaN, null, "bias 'bn.bias' holds NaN in channel 2" },
        { "bn.mean", float.NegativeInfinity, null, "mean 'bn.mean' holds -Inf in channel 2" },
        { "bn.var", -0.5f, null, "variance 'bn.var' holds -0.5 in channel 2; a variance is finite and not negative" },
        { "bn.var", float.NaN, null, "variance 'bn.var' holds NaN in channel 2" },
        { "bn.var", 0f, 0f, "variance 'bn.var' is 0 in channel 2 and epsilon is 0: the normalization divides by zero" },
        { "bn.var", 1f, float.NaN, "attribute 'epsilon' is NaN" },
        { "bn.var", 1f, -1e-3f, "attribute 'epsilon' is -0.001" },
    };

    [Theory]
    [MemberData(nameof(BatchNorms))]
    public void BadBatchNormParametersAreRefusedInEveryCommand(string tensor, float value, float? epsilon, string expected)
    {
        var model = HostileModels.ConvPair();
        model.Initializer(tensor).FloatData[2] = value;
        if (epsilon is { } e)
        {
            model.NodeNamed("bn").SetAttribute(HostileModels.Float("epsilon", e));
        }
        foreach (var command in HostileModels.EditingCommands)
        {
            HostileModels.AssertRefused(model, command, $"node 'bn' (BatchNormalization): {expected}");
        }
    }

    [Fact]
    public void ZeroVarianceWithPositiveEpsilonLoads()
    {
        var model = HostileModels.ConvPair();
        model.Initializer("bn.var").FloatData[2] = 0f;
        var graph = OnnxModel.Load(model.Bytes());
        Assert.Equal(0f, graph.GetValue("bn.var").ConstantValue!.ToArray<float>()[2]);
    }
}
