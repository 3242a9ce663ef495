using SharpQuant.Quantization;

namespace SharpQuant.Bench;

/// <summary>
/// The w8a8 qconfig `sharpquant quantize` uses: uint8 affine activations (entropy unless told otherwise), int8
/// symmetric min-max weights per output channel (or per tensor), adjusted to the integer format.
/// </summary>
public static class CliQConfig
{
    public static QConfigMapping Mapping(IntegerFormat format, bool perChannel = true, ObserverKind observer = ObserverKind.Entropy) =>
        new QConfigMapping().SetGlobal(format.Apply(new QConfig(
            new QuantSpec { Bits = 8, Signed = false, Scheme = QuantScheme.Affine, Observer = observer },
            new QuantSpec { Bits = 8, Signed = true, Scheme = QuantScheme.Symmetric, Axis = perChannel ? 0 : null, Observer = ObserverKind.MinMax })));

    /// <summary>The simulation prepared with <see cref="Mapping"/> and calibrated on the batches.</summary>
    public static QuantSim Calibrated(Graph graph, IReadOnlyList<Tensor> batches, IntegerFormat format, bool perChannel = true, ObserverKind observer = ObserverKind.Entropy)
    {
        var sim = QuantSim.Prepare(graph, Mapping(format, perChannel, observer));
        sim.Calibrate(batches);
        return sim;
    }
}
