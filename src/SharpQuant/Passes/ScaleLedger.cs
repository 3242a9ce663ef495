namespace SharpQuant.Passes;

/// <summary>
/// Keeps each equalized layer's original weight, bias and BatchNorm statistics (and the original ReLU6 bounds) with
/// the product of every factor applied to its channels. Sweeps work on the live weights to measure ranges; at the end
/// the weights are rebuilt from the originals and the total factors, so each weight is rounded twice (rows, then
/// columns) instead of twice per sweep: chains that need a dozen sweeps would otherwise drift by float rounding.
/// Only layers that belong to several sets are tracked: a layer in one set is settled by its first sweep (later
/// sweeps multiply it by factors within rounding of 1), and copying every weight would double the pass's time.
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
            // A computed bias is never edited: a layer with one is tracked only as a set's last layer (inputs scaled).
            layer.HasComputedBias ? null : layer.BiasOrNull(),
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

    public void ScaledOutputs(LinearLayer layer, IReadOnlyList<double> factors)
    {
        if (_layers.TryGetValue(layer.Node, out var entry))
        {
            MultiplyInto(entry.Out, factors);
        }
    }

    public void ScaledInputs(LinearLayer layer, IReadOnlyList<double> factors)
    {
        if (_layers.TryGetValue(layer.Node, out var entry))
        {
            MultiplyInto(entry.In, factors);
        }
    }

    public void ScaledBound(Value bound, IReadOnlyList<double> factors)
    {
        if (_bounds.TryGetValue(bound, out var entry))
        {
            MultiplyInto(entry.Factors, factors);
        }
    }

    /// <summary>Rebuilds every tracked weight, bias, statistic and bound from its original and its total factors (once).</summary>
    public void Apply()
    {
        foreach (var entry in _layers.Values)
        {
            var layer = entry.Layer;
            // The ledger's copy becomes the weight: it is not needed after this.
            layer.Node.Owner.SetConstantValue(layer.Node.Input(1), entry.Weight);
            if (entry.Bias is not null)
            {
                layer.SetBias(entry.Bias);
            }
            layer.ScaleOutputChannels(entry.Out, includeBias: !layer.HasComputedBias);
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
