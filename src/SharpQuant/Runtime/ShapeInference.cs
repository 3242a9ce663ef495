namespace SharpQuant.Runtime;

/// <summary>
/// Fills in element types and shapes the model file leaves out, by letting ONNX Runtime run the graph on zeros
/// with every value tapped. The run is done twice with different sizes for symbolic input dimensions, so that an
/// output dimension that follows them stays symbolic (named after the input's symbol) instead of becoming a number.
/// </summary>
public static class ShapeInference
{
    /// <summary>Size used for a symbolic dimension when the caller gives none: large enough for stride-32 networks.</summary>
    public const long DefaultSpatialSize = 64;

    /// <param name="inputShapes">Concrete shapes for inputs with symbolic dimensions; other symbols become 1 (the first dimension) or <see cref="DefaultSpatialSize"/>.</param>
    public static void Infer(Graph graph, IReadOnlyDictionary<string, long[]>? inputShapes = null, ExecutorOptions? options = null)
    {
        var first = Run(graph, inputShapes, 1, options);
        var second = Run(graph, inputShapes, 2, options);
        var symbolOf = SymbolForScale(graph);
        foreach (var (name, tensor) in first)
        {
            var value = graph.FindValue(name);
            if (value is null || value.IsConstant)
            {
                continue;
            }
            value.ElementType = tensor.ElementType;
            var other = second[name].Shape;
            value.Shape = tensor.Shape.Select((d, i) => i < other.Count && other[i] != d ? Dim.Named(symbolOf) : Dim.Of(d)).ToArray();
        }
    }

    private static string SymbolForScale(Graph graph) =>
        graph.Inputs.SelectMany(i => i.Shape ?? []).Select(d => d.Symbol).FirstOrDefault(s => s is not null) ?? "N";

    private static Dictionary<string, Tensor> Run(Graph graph, IReadOnlyDictionary<string, long[]>? inputShapes, long batch, ExecutorOptions? options)
    {
        var inputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var input in graph.Inputs)
        {
            long[] shape;
            if (inputShapes is not null && inputShapes.TryGetValue(input.Name, out var given))
            {
                shape = given.ToArray();
                shape[0] *= batch;
            }
            else if (input.Shape is null)
            {
                throw new SharpQuantException($"input '{input.Name}' has no shape; give one to infer the others");
            }
            else
            {
                shape = input.Shape.Select((d, i) => d.Size ?? (i == 0 ? batch : DefaultSpatialSize)).ToArray();
            }
            var type = input.ElementType == ElementType.Undefined ? ElementType.Float : input.ElementType;
            inputs[input.Name] = Tensor.Zeros(type, shape);
        }
        var taps = graph.Nodes.SelectMany(n => n.Outputs).Select(o => o.Name).ToArray();
        using var executor = new GraphExecutor(graph, options);
        return executor.Run(inputs, taps).Values.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
    }
}
