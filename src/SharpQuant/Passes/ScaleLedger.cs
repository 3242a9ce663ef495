namespace SharpQuant.Passes;

/// <summary>
/// Keeps each equalized layer's original weight, bias and BatchNorm statistics (and the original ReLU6 bounds) with
/// the product of every factor applied to its channels. Sweeps work on the live weights to measure ranges; at the end
/// the weights are rebuilt from the originals and the total factors, so each weight is rounded twice (rows, then
/// columns) instead of twice per sweep: chains that need a dozen sweeps would otherwise drift by float rounding.
/// </summary>
internal sealed class ScaleLedger
{
    private readonly Dictionary<Node, Entry> _layers = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Value, (float[] Original, double[] Factors)> _bounds = new(ReferenceEqualityComparer.Instance);

    private sealed record Entry(LinearLayer Layer, Tensor Weight, float[]? Bias, BatchNormStats? Stats, double[] Out, double[] In);

    public void Track(LinearLayer layer)
    {
        if (_layers.ContainsKey(layer.Node))
        {
            return;
        }
        _layers[layer.Node] = new Entry(
            layer,
            layer.Weight.Clone(),
            layer.BiasOrNull(),
            BatchNormStats.Of(layer.Node),
            Enumerable.Repeat(1.0, layer.OutChannels).ToArray(),
            Enumerable.Repeat(1.0, layer.InChannels).ToArray());
    }

    public void TrackBound(Value bound)
    {
        if (!_bounds.ContainsKey(bound))
        {
            var original = bound.ConstantValue!.ToArray<float>();
            _bounds[bound] = (original, Enumerable.Repeat(1.0, original.Length).ToArray());
        }
    }

    public void ScaledOutputs(LinearLayer layer, IReadOnlyList<double> factors) => MultiplyInto(_layers[layer.Node].Out, factors);

    public void ScaledInputs(LinearLayer layer, IReadOnlyList<double> factors) => MultiplyInto(_layers[layer.Node].In, factors);

    public void ScaledBound(Value bound, IReadOnlyList<double> factors) => MultiplyInto(_bounds[bound].Factors, factors);

    /// <summary>Rebuilds every tracked weight, bias, statistic and bound from its original and its total factors.</summary>
    public void Apply()
    {
        foreach (var entry in _layers.Values)
        {
            var layer = entry.Layer;
            layer.Node.Owner.SetConstantValue(layer.Node.Input(1), entry.Weight.Clone());
            if (entry.Bias is not null)
            {
                layer.SetBias(entry.Bias);
            }
            layer.ScaleOutputChannels(entry.Out);
            layer.ScaleInputChannels(entry.In);
            if (entry.Stats is not null)
            {
                layer.Node.Metadata[BatchNormStats.MetadataKey] = entry.Stats.ScaledBy(entry.Out);
            }
        }
        foreach (var (bound, (original, factors)) in _bounds)
        {
            var values = original.Select((b, c) => (float)(b * factors[c])).ToArray();
            bound.Owner.SetConstantValue(bound, Tensor.FromFloats(values, bound.ConstantValue!.Shape.ToArray()));
        }
    }

    private static void MultiplyInto(double[] total, IReadOnlyList<double> factors)
    {
        for (var i = 0; i < total.Length; i++)
        {
            total[i] *= factors[i];
        }
    }
}
