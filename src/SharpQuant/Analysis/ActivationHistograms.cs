using SharpQuant.Quantization;
using SharpQuant.Runtime;

namespace SharpQuant.Analysis;

/// <summary>
/// Histograms of activations on their quantizers' grids (value scale), from data run through a calibrated
/// <see cref="QuantSim"/>: each batch is run once with every selected quantizer's input tapped, as calibration does,
/// and streamed into one histogram per quantizer. Memory is one batch's tapped tensors plus the fixed histograms.
/// </summary>
public static class ActivationHistograms
{
    public static IReadOnlyList<QuantizerHistogram> Collect(
        QuantSim sim,
        IEnumerable<Tensor> batches,
        Func<Quantizer, bool>? select = null,
        ExecutorOptions? options = null,
        IProgress<CalibrationProgress>? progress = null,
        int? totalBatches = null)
    {
        var quantizers = sim.Quantizers.Where(q => q.Kind == QuantizerKind.Activation && (select?.Invoke(q) ?? true)).ToList();
        var uncalibrated = quantizers.FirstOrDefault(q => q.ObserverEnabled);
        if (uncalibrated is not null)
        {
            throw new SharpQuantException($"'{uncalibrated.Name}' is still observing: calibrate the simulation before drawing its activation histograms");
        }
        var histograms = quantizers.Select(q => new QuantizerHistogram(q, QuantGridHistogram.ForActivations(q.QParams))).ToList();
        if (histograms.Count == 0)
        {
            return histograms;
        }
        // The same session setup as calibration, except for blocked-layout taps: they cost one more session build
        // (ORT optimizes the model once to save it), more than they save over the few batches histograms are drawn from.
        using var executor = sim.CreateExecutor(options ?? ExecutorOptions.Default);
        var taps = quantizers.Select(q => q.Input.Name).Distinct().ToArray();
        var buffers = new TensorBuffers();
        var count = 0;
        long images = 0;
        foreach (var batch in batches)
        {
            var result = executor.Run(new Dictionary<string, Tensor> { [sim.Graph.Inputs[0].Name] = batch }, taps, buffers);
            // One histogram per quantizer: independent writers, so they fill in parallel.
            Parallel.ForEach(histograms, h => h.Histogram.Add(result[h.Quantizer.Input.Name], h.Quantizer.QParams));
            count++;
            images += batch.Shape[0];
            progress?.Report(new CalibrationProgress(count, totalBatches, images));
        }
        if (count == 0)
        {
            throw new SharpQuantException("activation histograms need at least one batch");
        }
        return histograms;
    }
}
