namespace SharpQuant.Runtime;

/// <summary>
/// Fills in element types and shapes the model file leaves out. Inputs with symbolic dimensions get two sets of
/// concrete sizes, with the first dimension (the batch) at 1 and at 2, and every output dimension that differs
/// between the two becomes symbolic (named after the inputs' first symbol) instead of a number.
/// <para>
/// The shapes come from C# per-op rules (<see cref="StaticShapeInference"/>), in microseconds. A graph with an op
/// they do not cover, or whose shapes depend on values they do not track, is run instead in ONNX Runtime on zeros
/// with every value tapped, once per set of sizes: exact for any op it runs, but seconds for a ResNet.
/// </para>
/// </summary>
public static class ShapeInference
{
    /// <summary>Size used for a symbolic dimension when the caller gives none: large enough for stride-32 networks.</summary>
    public const long DefaultSpatialSize = 64;

    /// <param name="inputShapes">Concrete shapes for inputs with symbolic dimensions; other symbols become 1 (the first dimension) or <see cref="DefaultSpatialSize"/>.</param>
    /// <param name="options">Session settings for the ONNX Runtime fallback.</param>
    public static void Infer(Graph graph, IReadOnlyDictionary<string, long[]>? inputShapes = null, ExecutorOptions? options = null)
    {
        if (!TryInferStatic(graph, inputShapes))
        {
            InferWithOnnxRuntime(graph, inputShapes, options);
        }
    }

    /// <summary>Infers with the C# rules alone; false (the graph untouched) when some node needs ONNX Runtime.</summary>
    internal static bool TryInferStatic(Graph graph, IReadOnlyDictionary<string, long[]>? inputShapes = null)
    {
        var first = StaticShapeInference.TryRun(graph, Facts(graph, inputShapes, 1));
        var second = first is null ? null : StaticShapeInference.TryRun(graph, Facts(graph, inputShapes, 2));
        if (first is null || second is null)
        {
            return false;
        }
        var symbol = SymbolForScale(graph);
        foreach (var node in graph.Nodes)
        {
            foreach (var value in node.Outputs)
            {
                Record(value, first[value].Type, first[value].Shape, second[value].Shape, symbol);
            }
        }
        return true;
    }

    /// <summary>Infers by running the graph in ONNX Runtime (twice, on zeros, every value tapped).</summary>
    internal static void InferWithOnnxRuntime(Graph graph, IReadOnlyDictionary<string, long[]>? inputShapes = null, ExecutorOptions? options = null)
    {
        var first = Run(graph, inputShapes, 1, options);
        var second = Run(graph, inputShapes, 2, options);
        var symbol = SymbolForScale(graph);
        foreach (var (name, tensor) in first)
        {
            var value = graph.FindValue(name);
            if (value is null || value.IsConstant)
            {
                continue;
            }
            Record(value, tensor.ElementType, tensor.Shape, second[name].Shape, symbol);
        }
    }

    /// <summary>A dimension that differs between the batch-1 and batch-2 shapes follows the batch: it becomes the symbol.</summary>
    private static void Record(Value value, ElementType type, IReadOnlyList<long> atBatch1, IReadOnlyList<long> atBatch2, string symbol)
    {
        value.ElementType = type;
        value.Shape = atBatch1.Select((d, i) => i < atBatch2.Count && atBatch2[i] != d ? Dim.Named(symbol) : Dim.Of(d)).ToArray();
    }

    private static string SymbolForScale(Graph graph) =>
        graph.Inputs.SelectMany(i => i.Shape ?? []).Select(d => d.Symbol).FirstOrDefault(s => s is not null) ?? "N";

    private static Dictionary<Value, ValueFacts> Facts(Graph graph, IReadOnlyDictionary<string, long[]>? inputShapes, long batch) =>
        graph.Inputs.ToDictionary(i => i, i => new ValueFacts(FeedType(i), FeedShape(i, inputShapes, batch)), (IEqualityComparer<Value>)ReferenceEqualityComparer.Instance);

    private static ElementType FeedType(Value input) => input.ElementType == ElementType.Undefined ? ElementType.Float : input.ElementType;

    /// <summary>The concrete shape fed for <paramref name="input"/> when the batch is <paramref name="batch"/>.</summary>
    private static long[] FeedShape(Value input, IReadOnlyDictionary<string, long[]>? inputShapes, long batch)
    {
        if (inputShapes is not null && inputShapes.TryGetValue(input.Name, out var given))
        {
            var shape = given.ToArray();
            shape[0] *= batch;
            return shape;
        }
        if (input.Shape is null)
        {
            throw new SharpQuantException($"input '{input.Name}' has no shape; give one to infer the others");
        }
        return input.Shape.Select((d, i) => d.Size ?? (i == 0 ? batch : DefaultSpatialSize)).ToArray();
    }

    private static Dictionary<string, Tensor> Run(Graph graph, IReadOnlyDictionary<string, long[]>? inputShapes, long batch, ExecutorOptions? options)
    {
        var inputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var input in graph.Inputs)
        {
            inputs[input.Name] = Tensor.Zeros(FeedType(input), FeedShape(input, inputShapes, batch));
        }
        var taps = graph.Nodes.SelectMany(n => n.Outputs).Select(o => o.Name).ToArray();
        using var executor = new GraphExecutor(graph, options);
        return executor.Run(inputs, taps).Values.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
    }
}
