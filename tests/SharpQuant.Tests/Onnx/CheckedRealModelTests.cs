using SharpQuant.Onnx;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Onnx;

/// <summary>The load-time model checker accepts the real models SharpQuant is used on.</summary>
public class CheckedRealModelTests
{
    [Fact]
    public void ResNet18PassesTheChecker()
    {
        var graph = OnnxModel.Load(TestModels.ResNet18Path);
        Assert.Equal(22, graph.NodesOfType("Conv").Count());
    }

    [SkippableFact]
    public void SharedModelsPassTheChecker()
    {
        TestData.RequireSharedData();
        var paths = new[] { TestData.PpocrModelPath }
            .Concat(Directory.EnumerateFiles(Path.Combine(TestData.SharedDataFolder, "zoo"), "*.onnx"))
            .ToList();
        Assert.True(paths.Count >= 2);
        foreach (var path in paths)
        {
            var graph = OnnxModel.Load(path);
            Assert.True(graph.NodesOfType("Conv").Any(), path);
        }
    }
}
