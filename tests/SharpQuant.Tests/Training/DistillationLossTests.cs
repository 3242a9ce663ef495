using SharpQuant.Runtime;
using SharpQuant.Tests.Support;
using SharpQuant.Training;

namespace SharpQuant.Tests.Training;

public class DistillationLossTests
{
    private const int Batch = 3;
    private const int Features = 5;
    private const int Classes = 4;

    /// <summary>x [N, 5] → Gemm (W [4, 5], transB) → logits [N, 4] → Softmax → probabilities (as ppocr-cls ends).</summary>
    private static Graph Classifier(bool withSoftmax)
    {
        var graph = new Graph();
        var x = graph.AddInput("x", ElementType.Float, [Dim.Named("N"), Features]);
        var w = graph.AddConstant("w", Compare.RandomTensor(3, -1f, 1f, Classes, Features));
        var gemm = graph.AddNode("Gemm", [x, w], moduleName: "fc", attributes: new Dictionary<string, AttributeValue> { ["transB"] = AttributeValue.Of(1L) });
        gemm.Output.ElementType = ElementType.Float;
        gemm.Output.Shape = [Dim.Named("N"), Classes];
        var output = gemm.Output;
        if (withSoftmax)
        {
            var softmax = graph.AddNode("Softmax", [output], moduleName: "softmax", attributes: new Dictionary<string, AttributeValue> { ["axis"] = AttributeValue.Of(1L) });
            softmax.Output.ElementType = ElementType.Float;
            softmax.Output.Shape = [Dim.Named("N"), Classes];
            output = softmax.Output;
        }
        graph.AddOutput(output);
        graph.Validate();
        return graph;
    }

    private static float[] Logits(Graph classifier, Tensor x)
    {
        var logits = DistillationLoss.LogitsOf(classifier).Name;
        using var executor = new GraphExecutor(classifier);
        return executor.Run(new Dictionary<string, Tensor> { ["x"] = x }, [logits])[logits].ToArray<float>();
    }

    [Fact]
    public void LogitsAreTheInputOfAFinalSoftmaxElseTheOutput()
    {
        Assert.Equal("fc_output", DistillationLoss.LogitsOf(Classifier(withSoftmax: true)).Name);
        Assert.Equal("fc_output", DistillationLoss.LogitsOf(Classifier(withSoftmax: false)).Name);
    }

    [Fact]
    public void MseLossEqualsTheMeanSquaredDifferenceComputedInCSharp()
    {
        var model = Classifier(withSoftmax: true);
        var x = Compare.RandomTensor(11, -2f, 2f, Batch, Features);
        var target = Compare.RandomTensor(12, -3f, 3f, Batch, Classes);
        var loss = DistillationLoss.Append(model, DistillationLossKind.Mse);
        Assert.Equal([DistillationLoss.TargetName], loss.TargetInputs);
        Assert.Equal(DistillationLoss.LossName, Assert.Single(loss.Graph.Outputs).Name);

        var z = Logits(model, x);
        var t = target.ToArray<float>();
        var expected = z.Zip(t, (a, b) => (a - (double)b) * (a - (double)b)).Average();
        Assert.Equal(expected, Run(loss, x, target), 5);
        // The model it was appended to is untouched.
        Assert.Equal("softmax_output", model.Outputs[0].Name);
    }

    [Theory]
    [InlineData(1f)]
    [InlineData(2.5f)]
    public void KlLossEqualsKlDivergenceOfTheSoftmaxAtTheTemperatureComputedInCSharp(float temperature)
    {
        var model = Classifier(withSoftmax: true);
        var x = Compare.RandomTensor(21, -2f, 2f, Batch, Features);
        var teacher = Compare.RandomTensor(22, -4f, 4f, Batch, Classes);
        var loss = DistillationLoss.Append(model, DistillationLossKind.Kl, temperature);

        var z = Logits(model, x);
        var t = teacher.ToArray<float>();
        double expected = 0;
        for (var n = 0; n < Batch; n++)
        {
            var p = Softmax(t.AsSpan(n * Classes, Classes), temperature);
            var q = Softmax(z.AsSpan(n * Classes, Classes), temperature);
            for (var c = 0; c < Classes; c++)
            {
                expected += p[c] * Math.Log(p[c] / q[c]);
            }
        }
        expected = expected / Batch * temperature * temperature;
        Assert.True(expected > 0);
        Assert.Equal(expected, Run(loss, x, teacher), 5);
    }

    [Fact]
    public void KlLossIsZeroWhenTheModelMatchesItsTarget()
    {
        var model = Classifier(withSoftmax: false);
        var x = Compare.RandomTensor(31, -2f, 2f, Batch, Features);
        var loss = DistillationLoss.Append(model, DistillationLossKind.Kl, 2f);
        var own = Tensor.FromFloats(Logits(model, x), Batch, Classes);
        Assert.Equal(0, Run(loss, x, own), 6);
    }

    [Fact]
    public void SoftmaxTargetsSumToOneAndTheirLogsMatch()
    {
        var logits = Tensor.FromFloats([1f, 2f, 3f, -1000f, 0f, 1000f], 2, 3);
        var (p, lp) = DistillationLoss.SoftmaxAtTemperature(logits, 1f);
        var probabilities = p.ToArray<float>();
        Assert.Equal(1, probabilities[0] + probabilities[1] + probabilities[2], 6);
        Assert.Equal(1f, probabilities[5]);
        Assert.Equal(0f, probabilities[3]);
        Assert.All(lp.ToArray<float>(), v => Assert.True(float.IsFinite(v)));
        Assert.Equal(Math.Log(probabilities[0]), lp.ToArray<float>()[0], 5);
    }

    [Fact]
    public void BadArgumentsAreClearErrors()
    {
        var model = Classifier(withSoftmax: true);
        Assert.Contains("temperature", Assert.Throws<SharpQuantException>(() => DistillationLoss.Append(model, DistillationLossKind.Kl, 0f)).Message);
        var wide = new Graph();
        var x = wide.AddInput("x", ElementType.Float, [1, 2, 3]);
        var relu = wide.AddNode("Relu", [x], moduleName: "relu");
        relu.Output.ElementType = ElementType.Float;
        relu.Output.Shape = [1, 2, 3];
        wide.AddOutput(relu.Output);
        Assert.Contains("[N, classes]", Assert.Throws<SharpQuantException>(() => DistillationLoss.Append(wide, DistillationLossKind.Kl)).Message);
    }

    private static double[] Softmax(ReadOnlySpan<float> logits, float temperature)
    {
        var max = double.NegativeInfinity;
        foreach (var v in logits)
        {
            max = Math.Max(max, v / (double)temperature);
        }
        var e = new double[logits.Length];
        for (var i = 0; i < logits.Length; i++)
        {
            e[i] = Math.Exp(logits[i] / (double)temperature - max);
        }
        var sum = e.Sum();
        return e.Select(v => v / sum).ToArray();
    }

    private static double Run(DistillationLoss loss, Tensor x, Tensor floatLogits)
    {
        using var executor = new GraphExecutor(loss.Graph);
        var feed = new Dictionary<string, Tensor>(loss.Targets(floatLogits)) { ["x"] = x };
        var value = executor.Run(feed)[DistillationLoss.LossName];
        Assert.Empty(value.Shape);
        return value.ToArray<float>()[0];
    }
}
