using FsCheck;
using FsCheck.Fluent;
using SharpQuant.Autodiff;
using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Runtime;
using SharpQuant.Tests.Autodiff;
using SharpQuant.Tests.Support;
using Xunit.Abstractions;
using static SharpQuant.Tests.Autodiff.A;

namespace SharpQuant.Tests.Runtime;

/// <summary>
/// The C# shape rules against ONNX Runtime: for every node output, the same element type and the same shape,
/// including which dimensions follow the batch (symbolic), on the models the project ships with (ResNet18,
/// ppocr-cls, the random conv nets; float, and their gradient graphs, whose backward halves use Shape,
/// ConstantOfShape, Expand, ConvTranspose, ...) and on single ops with the attribute variants the rules model.
/// </summary>
public sealed class StaticShapeInferenceTests(ITestOutputHelper log)
{
    [Fact]
    public void ResNet18MatchesOnnxRuntime() => AssertSameAsOnnxRuntime(TestModels.ResNet18());

    [Fact]
    public void QuantizedResNet18GradientGraphMatchesOnnxRuntime()
    {
        var folded = TestModels.ResNet18().FoldBatchNorm();
        var sim = QuantSim.Prepare(folded, new QConfigMapping().SetGlobal(QConfig.Default));
        sim.Calibrate([TestModels.ResNet18Input(seed: 1, batch: 1)]);
        // The first few activations and weights: their gradients run the backward pass through the whole network, and
        // the graph stays small enough for ONNX Runtime to infer in seconds (every quantizer's takes a minute at load).
        var activations = sim.Quantizers.Where(q => q.Kind == QuantizerKind.Activation).Take(3);
        var weights = sim.Quantizers.Where(q => q.Kind == QuantizerKind.Weight).Take(3);
        var wrt = activations.Concat(weights).Select(q => q.Input.Name).Distinct().ToArray();
        var forward = sim.Graph.Clone();
        foreach (var name in wrt.Where(n => forward.GetValue(n) is { IsConstant: false, IsGraphInput: false }))
        {
            forward.AddOutput(forward.GetValue(name));
        }
        var gradients = GradientGraph.Build(forward, GradientRequest.OfOutput(forward.Outputs[0].Name, SeedKind.Sum, wrt));
        AssertSameAsOnnxRuntime(gradients.Graph);
    }

    [SkippableFact]
    public void PpocrMatchesOnnxRuntime() =>
        AssertSameAsOnnxRuntime(TestModels.Ppocr(), new Dictionary<string, long[]> { ["x"] = [1, 3, 48, 192] });

    [SkippableFact]
    public void PpocrGradientGraphMatchesOnnxRuntime()
    {
        var graph = TestModels.Ppocr();
        var weights = graph.NodesOfType("Conv").Select(n => n.Input(1).Name).Take(5).ToArray();
        var request = GradientRequest.OfOutput(graph.Outputs[0].Name, SeedKind.Top1, ["x", .. weights])
            with { InputShapes = new Dictionary<string, long[]> { ["x"] = [1, 3, 48, 192] } };
        AssertSameAsOnnxRuntime(GradientGraph.Build(graph, request).Graph);
    }

    public static TheoryData<int> RandomNetSeeds() => [0, 1, 2, 3, 4, 5, 6, 7];

    [Theory]
    [MemberData(nameof(RandomNetSeeds))]
    public void RandomConvNetAndItsGradientGraphMatchOnnxRuntime(int index)
    {
        var spec = Gen.Sample(RandomConvNets.Specs(), numberOfSamples: 8, seed: new Rnd(20261127UL), size: 50).ToArray()[index];
        log.WriteLine(spec.ToString());
        var graph = RandomConvNets.Build(spec, seed: index);
        graph.MakeBatchDynamic();
        AssertSameAsOnnxRuntime(graph);
        var input = graph.Inputs[0].Name;
        var weights = graph.Nodes.Where(n => n.OpType is "Conv" or "Gemm").Select(n => n.Input(1).Name).Distinct().ToArray();
        AssertSameAsOnnxRuntime(GradientGraph.Build(graph, GradientRequest.OfOutput(graph.Outputs[0].Name, SeedKind.Sum, [input, .. weights])).Graph);
    }

    /// <summary>Single ops (opset 13 unless named), each on an input [N, 4, 6, 10] with N symbolic.</summary>
    public static TheoryData<string> Ops() =>
    [
        "conv-same-upper", "conv-valid-stride2-dilated", "conv-asymmetric-pads-grouped", "convtranspose", "convtranspose-output-shape",
        "maxpool-ceil-exact", "maxpool-with-indices", "averagepool-pads", "globalmaxpool", "matmul-batched", "matmul-vector",
        "gemm-trans", "reshape-zero-and-minus-one", "reshape-from-shape", "flatten-negative-axis", "transpose", "transpose-default",
        "concat-negative-axis", "split-sizes", "split-equal", "slice-negative-steps", "slice-clamped", "pad-constant",
        "reduce-mean-axes", "reduce-sum-axes-input", "reduce-all-no-keepdims", "squeeze-unsqueeze", "resize-scales", "resize-sizes",
        "resize-fractional-scales", "upsample-opset9", "expand", "tile", "gather-shape", "where-broadcast", "cast-compare", "argmax",
        "softmax-dropout", "constant-of-shape", "size",
    ];

    [Theory]
    [MemberData(nameof(Ops))]
    public void SingleOpMatchesOnnxRuntime(string name) => AssertSameAsOnnxRuntime(Unknown(OpCase(name)));

    [Fact]
    public void AGraphWithAnOpWithoutARuleFallsBackToOnnxRuntime()
    {
        var g = new OpGraph();
        var x = g.Input("x", [2, 3]);
        g.Output(g.Nodes("TopK", 2, [x, g.Ints("k", 2)])[0]);
        Unknown(g.Graph);
        Assert.False(ShapeInference.TryInferStatic(g.Graph.Clone()));
        ShapeInference.Infer(g.Graph);
        Assert.Equal([Dim.Of(2), Dim.Of(2)], g.Graph.Outputs[0].Shape);
    }

    [Fact]
    public void ARuleThatCannotDecideLeavesTheGraphUntouched()
    {
        // Reshape to a shape computed from float data: unknown to the rules, so nothing is recorded.
        var g = new OpGraph();
        var x = g.Input("x", [2, 6]);
        var target = g.Node("Cast", [g.Constant("f", Tensor.FromFloats([3f, 4f], 2))], I("to", (long)ElementType.Int64));
        var reshaped = g.Node("Reshape", [x, target]);
        g.Output(reshaped);
        Unknown(g.Graph);
        var before = reshaped.Shape;
        Assert.False(ShapeInference.TryInferStatic(g.Graph));
        Assert.Equal(before, reshaped.Shape);
        ShapeInference.Infer(g.Graph);
        Assert.Equal([Dim.Of(3), Dim.Of(4)], reshaped.Shape);
    }

    [Fact]
    public void ResNet18StaticInferenceIsFast()
    {
        // The reason the rules exist: ONNX Runtime takes seconds for this graph; the rules are far under one.
        var graph = TestModels.ResNet18();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.True(ShapeInference.TryInferStatic(graph));
        log.WriteLine($"static shape inference of ResNet18: {watch.Elapsed.TotalMilliseconds:F1} ms");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2));
    }

    private void AssertSameAsOnnxRuntime(Graph graph, IReadOnlyDictionary<string, long[]>? inputShapes = null)
    {
        var rules = graph.Clone();
        var runtime = graph.Clone();
        Assert.True(ShapeInference.TryInferStatic(rules, inputShapes), "the C# rules fell back to ONNX Runtime");
        ShapeInference.InferWithOnnxRuntime(runtime, inputShapes);
        var outputs = runtime.Nodes.SelectMany(n => n.Outputs).ToList();
        var symbolic = 0;
        foreach (var expected in outputs)
        {
            var actual = rules.GetValue(expected.Name);
            Assert.True(expected.ElementType == actual.ElementType, $"'{expected.Name}': {actual.ElementType}, ONNX Runtime {expected.ElementType}");
            Assert.True(expected.Shape!.SequenceEqual(actual.Shape!), $"'{expected.Name}' ({expected.Producer!.OpType}): {Shapes.Format(actual.Shape)}, ONNX Runtime {Shapes.Format(expected.Shape)}");
            symbolic += expected.Shape!.Any(d => d.Symbol is not null) ? 1 : 0;
        }
        log.WriteLine($"{outputs.Count} values agree, {symbolic} of them with a symbolic dimension");
    }

    /// <summary>Forgets every computed value's type and shape, as a model file that leaves them out (OpGraph types every output float).</summary>
    private static Graph Unknown(Graph graph)
    {
        foreach (var value in graph.Nodes.SelectMany(n => n.Outputs))
        {
            value.ElementType = ElementType.Undefined;
            value.Shape = null;
        }
        return graph;
    }

    private static Graph OpCase(string name)
    {
        var g = new OpGraph(opset: name == "upsample-opset9" ? 9 : 13);
        var x = g.Graph.AddInput("x", ElementType.Float, [Dim.Named("N"), Dim.Of(4), Dim.Of(6), Dim.Of(10)]);
        Value Out(Value v)
        {
            g.Output(v);
            return v;
        }
        switch (name)
        {
            case "conv-same-upper":
                Out(g.Node("Conv", [x, g.Constant("w", [6, 4, 3, 3])], S("auto_pad", "SAME_UPPER"), Is("strides", 2, 3)));
                break;
            case "conv-valid-stride2-dilated":
                Out(g.Node("Conv", [x, g.Constant("w", [5, 4, 2, 3]), g.Constant("b", [5])], S("auto_pad", "VALID"), Is("strides", 2, 2), Is("dilations", 2, 1)));
                break;
            case "conv-asymmetric-pads-grouped":
                Out(g.Node("Conv", [x, g.Constant("w", [6, 2, 3, 3])], I("group", 2), Is("pads", 3, 2, 1, 0), Is("strides", 2, 3)));
                break;
            case "convtranspose":
                Out(g.Node("ConvTranspose", [x, g.Constant("w", [4, 3, 3, 3])], I("group", 2), Is("strides", 2, 3), Is("pads", 1, 0, 0, 1), Is("output_padding", 1, 2), Is("dilations", 1, 2)));
                break;
            case "convtranspose-output-shape":
                Out(g.Node("ConvTranspose", [x, g.Constant("w", [4, 3, 3, 3])], Is("strides", 2, 2), Is("output_shape", 13, 21)));
                break;
            case "maxpool-ceil-exact":
                Out(g.Node("MaxPool", [x], Is("kernel_shape", 2, 2), Is("strides", 2, 2), I("ceil_mode", 1)));
                break;
            case "maxpool-with-indices":
                foreach (var v in g.Nodes("MaxPool", 2, [x], Is("kernel_shape", 3, 2), Is("strides", 1, 2), Is("pads", 1, 0, 1, 1)))
                {
                    Out(v);
                }
                break;
            case "averagepool-pads":
                Out(g.Node("AveragePool", [x], Is("kernel_shape", 3, 3), Is("strides", 2, 2), Is("pads", 1, 1, 1, 1)));
                break;
            case "globalmaxpool":
                Out(g.Node("GlobalMaxPool", [x]));
                break;
            case "matmul-batched":
                Out(g.Node("MatMul", [x, g.Constant("m", [1, 10, 7])]));
                break;
            case "matmul-vector":
                Out(g.Node("MatMul", [x, g.Constant("v", [10])]));
                break;
            case "gemm-trans":
                var flat = g.Node("Flatten", [x]);
                Out(g.Node("Gemm", [g.Node("Transpose", [flat], Is("perm", 1, 0)), g.Constant("w", [3, 240]), g.Constant("c", [3])], I("transA", 1), I("transB", 1)));
                break;
            case "reshape-zero-and-minus-one":
                Out(g.Node("Reshape", [x, g.Ints("s", 0, -1, 5)]));
                break;
            case "reshape-from-shape":
                // The Shape → Gather → Unsqueeze → Concat → Reshape pattern of exported flattens.
                var batch = g.Node("Gather", [g.Node("Shape", [x]), g.Graph.AddConstant("zero", Tensor.Create(new long[] { 0 }))], I("axis", 0));
                var target = g.Node("Concat", [g.Node("Unsqueeze", [batch, g.Ints("axes", 0)]), g.Ints("rest", -1)], I("axis", 0));
                Out(g.Node("Reshape", [x, target]));
                break;
            case "flatten-negative-axis":
                Out(g.Node("Flatten", [x], I("axis", -2)));
                break;
            case "transpose":
                Out(g.Node("Transpose", [x], Is("perm", 2, 0, 3, 1)));
                break;
            case "transpose-default":
                Out(g.Node("Transpose", [x]));
                break;
            case "concat-negative-axis":
                Out(g.Node("Concat", [x, g.Node("Relu", [x])], I("axis", -1)));
                break;
            case "split-sizes":
                foreach (var v in g.Nodes("Split", 3, [x, g.Ints("split", 1, 2, 3)], I("axis", 2)))
                {
                    Out(v);
                }
                break;
            case "split-equal":
                foreach (var v in g.Nodes("Split", 2, [x], I("axis", -1)))
                {
                    Out(v);
                }
                break;
            case "slice-negative-steps":
                Out(g.Node("Slice", [x, g.Ints("starts", -1, 8), g.Ints("ends", -100, 1), g.Ints("axes", 2, 3), g.Ints("steps", -2, -3)]));
                break;
            case "slice-clamped":
                Out(g.Node("Slice", [x, g.Ints("starts", 1, -3), g.Ints("ends", long.MaxValue, 100), g.Ints("axes", 1, -1)]));
                break;
            case "pad-constant":
                Out(g.Node("Pad", [x, g.Ints("pads", 0, 1, 2, 3, 0, 0, 1, 2), g.Constant("value", Tensor.Create(new[] { 0.5f }))]));
                break;
            case "reduce-mean-axes":
                Out(g.Node("ReduceMean", [x], Is("axes", 1, -1)));
                break;
            case "reduce-sum-axes-input":
                Out(g.Node("ReduceSum", [x, g.Ints("axes", 0, 2)], I("keepdims", 0)));
                break;
            case "reduce-all-no-keepdims":
                Out(g.Node("ReduceMax", [x], I("keepdims", 0)));
                break;
            case "squeeze-unsqueeze":
                var pooled = g.Node("GlobalAveragePool", [x]);
                var squeezed = Out(g.Node("Squeeze", [pooled, g.Ints("axes", 2, 3)]));
                Out(g.Node("Unsqueeze", [squeezed, g.Ints("axes2", -1, 1)]));
                Out(g.Node("Squeeze", [pooled]));
                break;
            case "resize-scales":
                Out(g.Node("Resize", [x, null, g.Constant("scales", Tensor.FromFloats([1f, 1f, 2f, 3f], 4))], S("mode", "nearest")));
                break;
            case "resize-sizes":
                Out(g.Node("Resize", [x, null, null, g.Ints("sizes", 1, 4, 3, 7)], S("mode", "nearest")));
                break;
            case "resize-fractional-scales":
                Out(g.Node("Resize", [x, g.Constant("roi", Tensor.FromFloats([], 0)), g.Constant("scales", Tensor.FromFloats([1f, 1f, 0.7f, 1.3f], 4))], S("mode", "linear")));
                break;
            case "upsample-opset9":
                Out(g.Node("Upsample", [x, g.Constant("scales", Tensor.FromFloats([1f, 1f, 2f, 2f], 4))], S("mode", "nearest")));
                break;
            case "expand":
                Out(g.Node("Expand", [g.Node("ReduceMean", [x], Is("axes", 1)), g.Ints("shape", 3, 1, 1)]));
                break;
            case "tile":
                Out(g.Node("Tile", [x, g.Ints("repeats", 1, 2, 1, 3)]));
                break;
            case "gather-shape":
                Out(g.Node("Gather", [x, g.Graph.AddConstant("idx", Tensor.Create(new long[] { 3, 0, 1 }, 3))], I("axis", 2)));
                Out(g.Node("Shape", [x]));
                break;
            case "where-broadcast":
                var positive = g.Node("Greater", [x, g.Constant("zero", Tensor.Create(new[] { 0f }))]);
                Out(g.Node("Where", [positive, x, g.Constant("fill", [10])]));
                break;
            case "cast-compare":
                Out(g.Node("Cast", [x], I("to", (long)ElementType.Int32)));
                Out(g.Node("Equal", [x, g.Constant("c", [10])]));
                break;
            case "argmax":
                Out(g.Node("ArgMax", [x], I("axis", 1), I("keepdims", 0)));
                break;
            case "softmax-dropout":
                Out(g.Node("Dropout", [g.Node("Softmax", [x], I("axis", 1))]));
                break;
            case "constant-of-shape":
                Out(g.Node("ConstantOfShape", [g.Node("Shape", [x])], ("value", AttributeValue.Of(Tensor.Create(new long[] { 7 }, 1)))));
                break;
            case "size":
                Out(g.Node("Size", [x]));
                break;
            default:
                throw new ArgumentException($"no case '{name}'", nameof(name));
        }
        return g.Graph;
    }
}
