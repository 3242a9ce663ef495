namespace SharpQuant.Runtime;

/// <summary>
/// One batch of model inputs: a tensor for each graph input, by name, all with the same batch size (dimension 0).
/// What calibration, bias correction and evaluation consume, whatever the data came from (images, .npy files, code).
/// </summary>
public sealed class InputBatch
{
    public InputBatch(IReadOnlyDictionary<string, Tensor> tensors)
    {
        if (tensors.Count == 0)
        {
            throw new SharpQuantException("an input batch needs at least one tensor");
        }
        var sizes = tensors.Values.Select(t => t.Rank == 0 ? 1 : t.Shape[0]).Distinct().ToList();
        if (sizes.Count > 1)
        {
            throw new SharpQuantException(
                $"the tensors of one input batch differ in batch size ({string.Join(", ", tensors.Select(t => $"'{t.Key}' {Shapes.Format(t.Value.Shape)}"))})");
        }
        Tensors = tensors;
        Size = sizes[0];
    }

    public IReadOnlyDictionary<string, Tensor> Tensors { get; }

    /// <summary>Samples in the batch (dimension 0 of its tensors).</summary>
    public long Size { get; }

    public Tensor this[string input] => Tensors[input];

    /// <summary>A batch of one named input.</summary>
    public static InputBatch Of(string input, Tensor tensor) => new(new Dictionary<string, Tensor>(StringComparer.Ordinal) { [input] = tensor });

    /// <summary>A batch for a graph with one input.</summary>
    public static InputBatch For(Graph graph, Tensor tensor) => Of(SingleInputName(graph), tensor);

    /// <summary>Single-input batches: each tensor fed to the graph's one input.</summary>
    public static IEnumerable<InputBatch> For(Graph graph, IEnumerable<Tensor> batches)
    {
        var name = SingleInputName(graph);
        return batches.Select(b => Of(name, b));
    }

    /// <summary>The one tensor of a single-input batch.</summary>
    public Tensor Single => Tensors.Count == 1
        ? Tensors.Values.First()
        : throw new SharpQuantException($"this step takes models with one input; the batch has {Tensors.Count} ({string.Join(", ", Tensors.Keys)})");

    private static string SingleInputName(Graph graph) => graph.Inputs.Count == 1
        ? graph.Inputs[0].Name
        : throw new SharpQuantException(
            $"the model has {graph.Inputs.Count} inputs ({string.Join(", ", graph.Inputs.Select(i => i.Name))}); give a tensor for each (tensor files with --inputs DIR)");
}
