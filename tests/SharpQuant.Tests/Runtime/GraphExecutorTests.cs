using SharpQuant.Onnx;
using SharpQuant.Runtime;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Runtime;

public class GraphExecutorTests
{
    [Fact]
    public void RunsAndReturnsTapsFromTheSameRun()
    {
        var g = OnnxModel.Load(ProtoModels.AddRelu().Bytes());
        using var executor = new GraphExecutor(g);
        var input = Tensor.FromFloats([0.5f, 0.5f, -5f, 10f], 1, 4);
        var result = executor.Run(new Dictionary<string, Tensor> { ["x"] = input }, ["s", "c", "x"]);
        Assert.Equal(new[] { 1.5f, 0f, 0f, 6f }, result.Output.ToArray<float>());
        Assert.Equal(new[] { 1.5f, -1.5f, -2f, 6f }, result["s"].ToArray<float>());
        Assert.Equal(new[] { 1f, -2f, 3f, -4f }, result["c"].ToArray<float>());
        Assert.Same(input, result["x"]);
    }

    [Fact]
    public void SessionFollowsGraphEdits()
    {
        var g = OnnxModel.Load(ProtoModels.AddRelu().Bytes());
        using var executor = new GraphExecutor(g);
        var input = Tensor.FromFloats([0f, 0f, 0f, 0f], 1, 4);
        Assert.Equal(new[] { 1f, 0f, 3f, 0f }, executor.Run(input).ToArray<float>());
        g.SetConstantValue(g.GetValue("c"), Tensor.FromFloats([2f, 2f, 2f, 2f], 4));
        Assert.Equal(new[] { 2f, 2f, 2f, 2f }, executor.Run(input).ToArray<float>());
    }

    [Fact]
    public void ResNet18TapsMatchTheirOwnOutputs()
    {
        var g = TestModels.ResNet18();
        using var executor = new GraphExecutor(g, new ExecutorOptions { IntraOpThreads = 2 });
        var input = TestModels.ResNet18Input(seed: 3);
        var conv = g.FindNode("stage2.block0.conv1")!;
        var relu = g.FindNode("stage2.block0.relu1")!;
        var result = executor.Run(new Dictionary<string, Tensor> { ["Input247"] = input }, [conv.Output.Name, relu.Output.Name]);
        Assert.Equal([1L, 128, 28, 28], result[conv.Output.Name].Shape);
        Assert.All(result[relu.Output.Name].ToArray<float>(), v => Assert.True(v >= 0));
        // Exposing intermediate values can stop ONNX Runtime from fusing ops, so the sums round differently.
        var plain = executor.Run(input);
        Assert.True(Compare.RelativeMaxError(result.Output.Floats, plain.Floats) < 1e-5);
    }

    [Fact]
    public void ReusedBuffersReceiveTheOutputsDirectlyAndFollowShapeChanges()
    {
        var g = TestModels.ResNet18();
        g.MakeBatchDynamic();
        using var executor = new GraphExecutor(g, new ExecutorOptions { IntraOpThreads = 2 });
        var relu = g.FindNode("stage2.block0.relu1")!.Output.Name;
        var reuse = new TensorBuffers();
        // Batch 2, 2 (the second run writes into the bound buffers), 1 (new shapes), 1, 2 again.
        foreach (var (batch, seed) in new[] { (2, 1), (2, 2), (1, 3), (1, 4), (2, 5) })
        {
            var input = new Dictionary<string, Tensor> { ["Input247"] = Batch(batch, seed) };
            var fresh = executor.Run(input, [relu]);
            var reused = executor.Run(input, [relu], reuse);
            Assert.Equal(fresh.Output.Shape, reused.Output.Shape);
            Assert.Equal(fresh.Output.ToArray<float>(), reused.Output.ToArray<float>());
            Assert.Equal(fresh[relu].Shape, reused[relu].Shape);
            Assert.Equal(fresh[relu].ToArray<float>(), reused[relu].ToArray<float>());
        }
        // Every run after the first of each shape wrote into the bound buffers.
        Assert.Equal(2, reuse.DirectRuns);

        static Tensor Batch(int count, int seed)
        {
            var one = TestModels.ResNet18Input(seed).ToArray<float>();
            return Tensor.FromFloats(Enumerable.Repeat(one, count).SelectMany(x => x).ToArray(), count, 3, 224, 224);
        }
    }

    [Fact]
    public void MissingInputAndUnknownTapAreClearErrors()
    {
        var g = OnnxModel.Load(ProtoModels.AddRelu().Bytes());
        using var executor = new GraphExecutor(g);
        Assert.Contains("'x' was not given", Assert.Throws<SharpQuantException>(() => executor.Run(new Dictionary<string, Tensor>())).Message);
        var input = new Dictionary<string, Tensor> { ["x"] = Tensor.Zeros(ElementType.Float, 1, 4) };
        Assert.Contains("no such value", Assert.Throws<SharpQuantException>(() => executor.Run(input, ["nope"])).Message);
        var wrongShape = new Dictionary<string, Tensor> { ["x"] = Tensor.Zeros(ElementType.Float, 1, 5) };
        Assert.Contains("ONNX Runtime", Assert.Throws<SharpQuantException>(() => executor.Run(wrongShape)).Message);
    }

    [SkippableFact]
    public void CudaProviderRunsWhereAvailable()
    {
        Skip.IfNot(ExecutionProviders.IsCudaAvailable(), "CUDA execution provider not available in this ONNX Runtime build or machine");
        var g = OnnxModel.Load(ProtoModels.AddRelu().Bytes());
        using var executor = new GraphExecutor(g, new ExecutorOptions { Provider = ExecutionProvider.Cuda });
        Assert.Equal(new[] { 1f, 0f, 3f, 0f }, executor.Run(Tensor.Zeros(ElementType.Float, 1, 4)).ToArray<float>());
    }

    [SkippableFact]
    public void CudaRequestWithoutCudaIsAClearError()
    {
        Skip.If(ExecutionProviders.IsCudaAvailable());
        var options = new ExecutorOptions { Provider = ExecutionProvider.Cuda };
        var e = Assert.Throws<SharpQuantException>(() => options.CreateSessionOptions());
        Assert.Contains("CUDA", e.Message);
    }

    [SkippableFact]
    public void ShapeInferenceFillsPpocrShapesKeepingTheBatchSymbolic()
    {
        var g = TestModels.Ppocr();
        Assert.Null(g.FindNode("conv2d_0")!.Output.Shape);
        ShapeInference.Infer(g, new Dictionary<string, long[]> { ["x"] = [1, 3, 48, 192] });
        var shape = g.FindNode("conv2d_0")!.Output.Shape!;
        Assert.Equal("p2o.DynamicDimension.0", shape[0].Symbol);
        Assert.Equal([8L, 24, 96], shape.Skip(1).Select(d => d.Size!.Value));
    }
}
