using System.CommandLine;
using SharpQuant.Models;
using SharpQuant.Onnx;

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
    /// Loads a model whose layer parameters the command edits or quantizes: inputs whose initializer default is a
    /// layer's weight, bias or statistics become constants (<see cref="Graph.FreezeParameterDefaults"/>).
    /// </summary>
    public static Graph LoadForEditing(string path)
    {
        var graph = OnnxModel.Load(path);
        graph.FreezeParameterDefaults();
        return graph;
    }

    /// <summary>As <see cref="LoadForEditing"/>, and so it takes any batch size: batch-1 exports (the default ResNet18) would refuse a batch of 8.</summary>
    public static Graph LoadBatchable(string path)
    {
        var graph = LoadForEditing(path);
        graph.MakeBatchDynamic();
        return graph;
    }
}
