using SharpQuant.Runtime;

namespace SharpQuant.Quantization;

/// <summary>
/// Lets a simulation calibrate on batches larger than the batch its file declares. Exporters often write batch 1
/// (the default ResNet18 does), and ONNX Runtime then refuses a batch of 8 with "Got invalid dimensions"; the
/// simulation is a copy the caller never fed to ONNX Runtime as it is, so its batch axes are freed instead.
/// </summary>
internal static class CalibrationBatchSize
{
    /// <summary>Makes the batch axes of <paramref name="graph"/> dynamic when <paramref name="batch"/> does not fit their declared size.</summary>
    public static void Fit(Graph graph, InputBatch batch)
    {
        var conflicts = graph.Inputs.Where(BatchAxes.IsBatchedInput).Any(input =>
            input.Shape![0].Size is { } declared
            && batch.Tensors.TryGetValue(input.Name, out var fed)
            && fed.Rank == input.Shape.Count
            && fed.Shape[0] != declared);
        if (conflicts)
        {
            graph.MakeBatchDynamic();
        }
    }
}
