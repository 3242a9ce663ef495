using SharpQuant.Models;
using SharpQuant.Onnx;

namespace SharpQuant.Tests.Support;

/// <summary>The real models the tests use, loaded once per test process (a load is a pure read).</summary>
public static class TestModels
{
    private static readonly Lazy<byte[]> ResNet18Bytes = new(() => File.ReadAllBytes(DefaultModels.ResNet18Path));

    public static string ResNet18Path => DefaultModels.ResNet18Path;

    /// <summary>A fresh ResNet18 graph (callers may edit it).</summary>
    public static Graph ResNet18()
    {
        var graph = OnnxModel.Load(ResNet18Bytes.Value, DefaultModels.ResNet18Path);
        graph.MakeBatchDynamic();
        return graph;
    }

    public static Graph Ppocr()
    {
        TestData.RequireSharedData();
        return OnnxModel.Load(TestData.PpocrModelPath);
    }

    public static Tensor ResNet18Input(int seed, int batch = 1) => Compare.RandomTensor(seed, -120f, 150f, batch, 3, 224, 224);

    public static Tensor PpocrInput(int seed, int batch = 1) => Compare.RandomTensor(seed, -1f, 1f, batch, 3, 48, 192);
}
