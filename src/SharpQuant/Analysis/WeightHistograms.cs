using SharpQuant.Quantization;

namespace SharpQuant.Analysis;

/// <summary>Histograms of weights on their quantizers' grids, in integer units w/s + z (each channel on its own scale).</summary>
public static class WeightHistograms
{
    /// <summary>The histogram of one weight quantizer's weight, with optional gradients of the same shape.</summary>
    public static QuantGridHistogram Of(Quantizer quantizer, Tensor? gradients = null)
    {
        if (quantizer.Kind != QuantizerKind.Weight || quantizer.Input.ConstantValue is not { } weight)
        {
            throw new SharpQuantException($"'{quantizer.Name}' does not quantize a constant weight");
        }
        var qparams = quantizer.QParams;
        var histogram = QuantGridHistogram.ForWeights(qparams);
        histogram.Add(weight, qparams, gradients);
        return histogram;
    }

    /// <summary>The histograms of every weight quantizer of <paramref name="sim"/> that <paramref name="select"/> keeps, in graph order.</summary>
    public static IReadOnlyList<QuantizerHistogram> Of(QuantSim sim, Func<Quantizer, bool>? select = null)
    {
        var quantizers = sim.Quantizers.Where(q => q.Kind == QuantizerKind.Weight && (select?.Invoke(q) ?? true)).ToList();
        var histograms = new QuantizerHistogram[quantizers.Count];
        // Each histogram is independent; spreading them over the cores is the only parallelism needed.
        Parallel.For(0, quantizers.Count, i => histograms[i] = new QuantizerHistogram(quantizers[i], Of(quantizers[i])));
        return histograms;
    }
}
