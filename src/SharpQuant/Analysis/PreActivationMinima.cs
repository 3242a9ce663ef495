using SharpQuant.Passes;
using SharpQuant.Runtime;

namespace SharpQuant.Analysis;

/// <summary>
/// Measures, per output channel, the smallest pre-activation value of every layer that starts an equalization
/// set, over calibration batches (one ONNX Runtime run per batch with all those layers tapped). Bias absorption
/// uses the minima instead of BatchNorm statistics; memory stays one vector per layer however many batches.
/// </summary>
public static class PreActivationMinima
{
    public static IReadOnlyDictionary<string, double[]> Measure(Graph graph, IEnumerable<Tensor> batches, ExecutorOptions? options = null)
    {
        var layers = EqualizationSetFinder.Find(graph).Sets.SelectMany(s => s.Layers.Take(s.Layers.Count - 1)).Distinct().ToList();
        var minima = layers.ToDictionary(l => l.ModuleName, l => Enumerable.Repeat(double.PositiveInfinity, LinearLayer.Create(l).OutChannels).ToArray());
        using var executor = new GraphExecutor(graph, options);
        var taps = layers.Select(l => l.Output.Name).ToArray();
        foreach (var batch in batches)
        {
            var result = executor.Run(new Dictionary<string, Tensor> { [graph.Inputs[0].Name] = batch }, taps);
            foreach (var layer in layers)
            {
                var values = result[layer.Output.Name];
                var min = minima[layer.ModuleName];
                var channels = min.Length;
                var perChannel = (int)(values.ElementCount / values.Shape[0] / channels);
                var data = values.Floats;
                for (long n = 0; n < values.Shape[0]; n++)
                {
                    for (var c = 0; c < channels; c++)
                    {
                        var run = data.Slice((int)((n * channels + c) * perChannel), perChannel);
                        min[c] = Math.Min(min[c], System.Numerics.Tensors.TensorPrimitives.Min<float>(run));
                    }
                }
            }
        }
        return minima;
    }
}
