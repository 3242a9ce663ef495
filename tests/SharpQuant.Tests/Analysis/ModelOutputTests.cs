using SharpQuant.Analysis;
using SharpQuant.Quantization;
using SharpQuant.Runtime;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Analysis;

public class ModelOutputTests
{
    [Fact]
    public void TheDefaultResNet18IsA512dEmbeddingWithoutAClassifier()
    {
        var graph = TestModels.ResNet18();
        var output = ModelOutput.Of(graph);
        Assert.Equal("Pooling395_Output_0", output.Name);
        Assert.Equal(OutputKind.Embedding, output.Kind);
        Assert.False(output.IsClassScores);
        Assert.Equal(512, output.Size);
        Assert.Equal("[N, 512, 1, 1]", output.Shape);
        Assert.Equal("AveragePool", output.EndsIn);
        Assert.Equal("feature extractor: 512-d output, no classifier", output.Summary);

        // The real output, from ONNX Runtime, has the declared shape: observing it changes nothing.
        using var executor = new GraphExecutor(graph);
        var actual = executor.Run(TestModels.ResNet18Input(seed: 1, batch: 2));
        Assert.Equal([2L, 512, 1, 1], actual.Shape);
        Assert.Equal(output, output.Observe(actual.Shape));

        // Labels never fit an embedding, not even 512 of them: its largest feature is no class.
        Assert.Equal(
            "the model's output 'Pooling395_Output_0' is a 512-d embedding (a feature extractor without a classifier); top-k needs class scores with one score per label",
            output.LabelMismatch(3));
        Assert.NotNull(output.LabelMismatch(512));
    }

    [Fact]
    public void QuantizationAndReshapesAtTheEndDoNotHideASoftmax()
    {
        // MatMul, bias Add, Softmax, then a FakeQuant (as a simulation puts after a head) and a Flatten.
        var graph = new Graph();
        var x = graph.AddInput("x", ElementType.Float, [Dim.Named("N"), 6]);
        var logits = FullyConnected(graph, x, classes: 3);
        var softmax = graph.AddNode("Softmax", [logits], moduleName: "softmax", attributes: new Dictionary<string, AttributeValue> { ["axis"] = AttributeValue.Of(1L) });
        var quantized = FakeQuantOp.Insert(graph, softmax.Output, new QParams([1f / 255], [0], null, 0, 255), "softmax.activation_fake_quant", after: softmax);
        var flatten = graph.AddNode("Flatten", [quantized.Output], moduleName: "flatten");
        flatten.Output.ElementType = ElementType.Float;
        flatten.Output.Shape = [Dim.Named("N"), 3];
        graph.AddOutput(flatten.Output);

        var output = ModelOutput.Of(graph);
        Assert.Equal(OutputKind.ClassProbabilities, output.Kind);
        Assert.Equal("Softmax", output.EndsIn);
        Assert.Equal(3, output.Size);

        // ONNX Runtime's outputs: probabilities on the 1/255 grid, each sample summing to 1 within the rounding.
        using var executor = new GraphExecutor(graph, lowering: FakeQuantLowering.Lower);
        var actual = executor.Run(Compare.RandomTensor(8, -2f, 2f, 4, 6));
        Assert.Equal([4L, 3], actual.Shape);
        for (var n = 0; n < 4; n++)
        {
            var sample = actual.Floats.Slice(3 * n, 3).ToArray();
            Assert.All(sample, p => Assert.Equal(Math.Round(p * 255), p * 255, 3));
            Assert.InRange(sample.Sum(), 1 - 1.5 / 255, 1 + 1.5 / 255);
        }
    }

    [SkippableFact]
    public void ThePaddleOcrClassifierGivesProbabilitiesForTwoClasses()
    {
        var graph = TestModels.Ppocr();
        var output = ModelOutput.Of(graph);
        Assert.Equal("softmax_0.tmp_0", output.Name);
        Assert.Equal(OutputKind.ClassProbabilities, output.Kind);
        Assert.True(output.IsClassScores);
        Assert.Equal(2, output.Size);
        Assert.Equal("Softmax", output.EndsIn);
        Assert.Equal("classifier: 2 classes (probabilities, ends in Softmax)", output.Summary);
        Assert.Null(output.LabelMismatch(2));
        Assert.Equal("the model's output 'softmax_0.tmp_0' holds scores for 2 classes; top-k needs one label per class score", output.LabelMismatch(3));

        // What ONNX Runtime computes agrees: every sample is a distribution over 2 classes.
        graph.MakeBatchDynamic();
        using var executor = new GraphExecutor(graph);
        var actual = executor.Run(TestModels.PpocrInput(seed: 2, batch: 3));
        Assert.Equal([3L, 2], actual.Shape);
        for (var n = 0; n < 3; n++)
        {
            Assert.True(Probabilities.IsDistribution(actual.Floats.Slice(2 * n, 2)));
        }
        var observed = output.Observe(actual.Shape);
        Assert.Equal(OutputKind.ClassProbabilities, observed.Kind);
        Assert.Equal(2, observed.Size);
    }

    [Fact]
    public void AConvOutputWithSpatialPositionsIsAFeatureMap()
    {
        var graph = ConvRelu(channels: 4, size: 8);
        var output = ModelOutput.Of(graph);
        Assert.Equal(OutputKind.FeatureMap, output.Kind);
        Assert.False(output.IsClassScores);
        Assert.Equal(4, output.Size);
        Assert.Equal("Relu", output.EndsIn);
        Assert.Equal("feature map: [N, 4, 8, 8] output, no classifier", output.Summary);
        Assert.Equal(
            "the model's output 'y' is a feature map of shape [N, 4, 8, 8] (more than one position per channel, not one score per class); top-k needs class scores with one score per label",
            output.LabelMismatch(4));

        using var executor = new GraphExecutor(graph);
        var actual = executor.Run(Compare.RandomTensor(3, -1f, 1f, 2, 3, 8, 8));
        Assert.Equal([2L, 4, 8, 8], actual.Shape);
        Assert.Equal(OutputKind.FeatureMap, output.Observe(actual.Shape).Kind);
    }

    [Fact]
    public void UndeclaredSpatialSizesAreAFeatureMapUntilARunShowsThemToBeOne()
    {
        // A symbolic height and width may be anything; the run's [2, 4, 1, 1] makes the same output an embedding.
        var graph = ConvRelu(channels: 4, size: 1);
        graph.Outputs[0].Shape = [Dim.Named("N"), 4, Dim.Named("H"), Dim.Named("W")];
        var output = ModelOutput.Of(graph);
        Assert.Equal(OutputKind.FeatureMap, output.Kind);
        using var executor = new GraphExecutor(graph);
        var actual = executor.Run(Compare.RandomTensor(4, -1f, 1f, 2, 3, 1, 1));
        var observed = output.Observe(actual.Shape);
        Assert.Equal(OutputKind.Embedding, observed.Kind);
        Assert.Equal("feature extractor: 4-d output, no classifier", observed.Summary);
    }

    [Fact]
    public void AFullyConnectedLayerGivesLogitsAndTheRunGivesTheirCount()
    {
        // MatMul and a bias Add, the output's class axis left undeclared: logits, counted from the first run.
        var graph = new Graph();
        var x = graph.AddInput("x", ElementType.Float, [Dim.Named("N"), 6]);
        var logits = FullyConnected(graph, x, classes: 5);
        logits.Shape = [Dim.Named("N"), Dim.Unknown];
        graph.AddOutput(logits);

        var output = ModelOutput.Of(graph);
        Assert.Equal(OutputKind.ClassLogits, output.Kind);
        Assert.Equal("MatMul", output.EndsIn);
        Assert.Null(output.Size);
        Assert.Null(output.LabelMismatch(7));   // not known yet

        using var executor = new GraphExecutor(graph);
        var observed = output.Observe(executor.Run(Compare.RandomTensor(7, -1f, 1f, 3, 6)).Shape);
        Assert.Equal(5, observed.Size);
        Assert.Equal("classifier: 5 classes (logits, ends in MatMul)", observed.Summary);
        Assert.Null(observed.LabelMismatch(5));
        Assert.Contains("holds scores for 5 classes", observed.LabelMismatch(7));
    }

    [Fact]
    public void FidelityOfAnEmbeddingLeavesTop1AndKlOut()
    {
        var graph = TestModels.ResNet18();
        using var executor = new GraphExecutor(graph);
        var input = TestModels.ResNet18Input(seed: 5, batch: 2);
        var reference = executor.Run(input);
        var candidate = executor.Run(input);
        for (var i = 0; i < candidate.ElementCount; i += 7)
        {
            candidate.Floats[i] += 0.01f;
        }

        var embedding = new FidelityAccumulator(ModelOutput.Of(graph));
        embedding.Add(reference, candidate);
        var r = embedding.Report();
        Assert.False(r.ClassScores);
        Assert.Null(r.Top1Agreements);
        Assert.Null(r.Top1Agreement);
        Assert.Null(r.MeanKl);
        Assert.Equal(OutputKind.Embedding, embedding.Output!.Kind);
        Assert.InRange(r.MeanCosine, 0.99, 1.0);
        Assert.True(double.IsFinite(r.SqnrDb));
        Assert.Equal(0.01, r.MaxAbsDiff, 4);

        // The same outputs taken as class scores (the accumulator without a model output): the same cosine, SQNR and
        // max|Δ|, and the two numbers the embedding leaves out.
        var asScores = new FidelityAccumulator();
        asScores.Add(reference, candidate);
        var s = asScores.Report();
        Assert.True(s.ClassScores);
        Assert.NotNull(s.Top1Agreements);
        Assert.NotNull(s.MeanKl);
        Assert.Equal(r.MeanCosine, s.MeanCosine);
        Assert.Equal(r.SqnrDb, s.SqnrDb);
        Assert.Equal(r.MaxAbsDiff, s.MaxAbsDiff);
    }

    /// <summary>x [N, 6] → MatMul → Add of a bias: [N, classes] logits.</summary>
    private static Value FullyConnected(Graph graph, Value x, int classes)
    {
        var w = graph.AddConstant("fc.weight", Compare.RandomTensor(5, -1f, 1f, 6, classes));
        var b = graph.AddConstant("fc.bias", Compare.RandomTensor(6, -1f, 1f, classes));
        var matmul = graph.AddNode("MatMul", [x, w], moduleName: "fc");
        var add = graph.AddNode("Add", [matmul.Output, b], moduleName: "fc.add");
        add.Output.ElementType = ElementType.Float;
        add.Output.Shape = [Dim.Named("N"), classes];
        return add.Output;
    }

    /// <summary>x [N, 3, size, size] → 3×3 Conv (padding 1) → Relu → y [N, channels, size, size].</summary>
    private static Graph ConvRelu(int channels, int size)
    {
        var graph = new Graph();
        var x = graph.AddInput("x", ElementType.Float, [Dim.Named("N"), 3, size, size]);
        var w = graph.AddConstant("conv.weight", Compare.RandomTensor(1, -0.5f, 0.5f, channels, 3, 3, 3));
        var conv = graph.AddNode("Conv", [x, w], moduleName: "conv", attributes: new Dictionary<string, AttributeValue>
        {
            ["pads"] = AttributeValue.Of([1L, 1, 1, 1]),
            ["kernel_shape"] = AttributeValue.Of([3L, 3]),
        });
        var relu = graph.AddNode("Relu", [conv.Output], moduleName: "relu");
        graph.RenameValue(relu.Output, "y");
        relu.Output.ElementType = ElementType.Float;
        relu.Output.Shape = [Dim.Named("N"), channels, size, size];
        graph.AddOutput(relu.Output);
        return graph;
    }
}
