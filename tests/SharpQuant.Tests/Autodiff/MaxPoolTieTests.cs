using SharpQuant.Autodiff;
using SharpQuant.Runtime;
using static SharpQuant.Tests.Autodiff.A;

namespace SharpQuant.Tests.Autodiff;

/// <summary>
/// MaxPool's gradient goes to the element ONNX Runtime's MaxPool names in its Indices output (the first maximum in
/// window order). Finite differences cannot see ties, which are common after ReLU (windows of zeros), so the rule
/// is compared exactly with the gradient those indices define, on inputs made of ties.
/// </summary>
public sealed class MaxPoolTieTests
{
    [Theory]
    [InlineData(3, 2, 1, 1, 0)]
    [InlineData(3, 2, 1, 1, 1)]
    [InlineData(2, 2, 0, 1, 0)]
    [InlineData(3, 1, 1, 1, 0)]
    [InlineData(2, 1, 1, 2, 0)]
    public void TiesGoWhereMaxPoolIndicesPoint(int kernel, int stride, int pad, int dilation, int ceil)
    {
        var shape = new long[] { 2, 3, 7, 8 };
        var random = new Random(kernel * 100 + stride * 10 + pad + dilation * 1000 + ceil * 7);
        // Three levels only: most windows hold several equal maxima.
        var data = new float[Shapes.ElementCount(shape)];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = random.Next(3) * 0.5f;
        }
        (string, AttributeValue)[] attributes =
            [Is("kernel_shape", kernel, kernel), Is("strides", stride, stride), Is("pads", pad, pad, pad, pad), Is("dilations", dilation, dilation), I("ceil_mode", ceil)];

        var g = new OpGraph();
        var x = g.Graph.AddInput("x", ElementType.Float, shape.Select(Dim.Of).ToArray());
        var pooled = g.Nodes("MaxPool", 2, [x], attributes);
        pooled[1].ElementType = ElementType.Int64;
        g.Output(pooled[0]).Output(pooled[1]);
        var feeds = new Dictionary<string, Tensor> { ["x"] = Tensor.FromFloats(data, shape) };
        var expected = new float[data.Length];
        using (var executor = new GraphExecutor(g.Graph))
        {
            foreach (var index in executor.Run(feeds)[pooled[1].Name].ToArray<long>())
            {
                expected[index] += 1f;
            }
        }

        var forward = new OpGraph();
        var input = forward.Graph.AddInput("x", ElementType.Float, shape.Select(Dim.Of).ToArray());
        forward.Output(forward.Node("MaxPool", [input], attributes));
        var gradients = GradientGraph.Build(forward.Graph, GradientRequest.OfOutput(forward.Graph.Outputs[0].Name, SeedKind.Sum, "x"));
        using var runner = new GradientRunner(gradients);
        var actual = runner.Run(feeds).Gradient("x").Floats.ToArray();

        Assert.Equal(expected, actual);
    }
}
