using SharpQuant.Quantization;

namespace SharpQuant.Analysis;

/// <summary>
/// The quantizers of one row of a sensitivity table: a layer's weight quantizers and the activation quantizer at
/// the end of its unit (after its ReLU), or an activation quantizer of its own (model input, Add, pooled tensor).
/// </summary>
public sealed record LayerQuantizers(string Layer, IReadOnlyList<Quantizer> Weights, IReadOnlyList<Quantizer> Activations)
{
    public IEnumerable<Quantizer> All => Weights.Concat(Activations);
}
