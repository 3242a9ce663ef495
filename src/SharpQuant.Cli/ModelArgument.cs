using System.CommandLine;
using SharpQuant.Models;
using SharpQuant.Onnx;
using SharpQuant.Passes.Normalization;

namespace SharpQuant.Cli;

/// <summary>The optional MODEL argument: a path to an ONNX file, or the default ResNet18 when left out.</summary>
public static class ModelArgument
{
    public static Argument<string?> Create() => new("model")
    {
        Description = "ONNX model file (default: the ImageNet ResNet18 that ships with SharpQuant)",
        Arity = ArgumentArity.ZeroOrOne,
    };

    public static string Resolve(string? given) => string.IsNullOrWhiteSpace(given) ? DefaultModels.ResNet18Path : given;

    /// <summary>
    /// Loads a model whose layers the command edits or quantizes and normalizes it: inputs whose initializer default
    /// is a layer's weight, bias or statistics become constants (<see cref="Graph.FreezeParameterDefaults"/>), then
    /// constant subgraphs are folded (Identity and Cast of constants, static shape arithmetic).
    /// </summary>
    public static Graph Load(string path)
    {
        var graph = OnnxModel.Load(path);
        graph.FreezeParameterDefaults();
        return graph.Normalize();
    }

    /// <summary>
    /// As <see cref="Load"/>, and so it takes any batch size: batch-1 exports (the default ResNet18) would refuse a
    /// batch of 8. Normalization comes after the batch is made dynamic, so shape arithmetic that follows the batch
    /// stays computed.
    /// </summary>
    public static Graph LoadBatchable(string path)
    {
        var graph = OnnxModel.Load(path);
        graph.FreezeParameterDefaults();
        graph.MakeBatchDynamic();
        return graph.Normalize();
    }
}
