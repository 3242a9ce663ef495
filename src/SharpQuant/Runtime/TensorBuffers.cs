namespace SharpQuant.Runtime;

/// <summary>
/// Output buffers kept between runs, by value name. A loop that reads each run's outputs before the next run (a
/// calibration pass) saves allocating, zeroing and collecting large arrays every batch: tapping every activation of
/// ResNet18 returns over 100 MB per batch of 8. Once a run has shown the output shapes for some input shapes, later
/// runs with the same input shapes hand these buffers to ONNX Runtime as its outputs, so it writes into them
/// directly instead of into arrays of its own that would then be copied. Tensors built on these buffers are
/// overwritten by the next run.
/// </summary>
public sealed class TensorBuffers
{
    private readonly Dictionary<string, byte[]> _buffers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tensor> _outputs = new(StringComparer.Ordinal);
    private string? _inputSignature;

    /// <summary>Runs that wrote straight into these buffers (the others copied ONNX Runtime's outputs into them).</summary>
    public int DirectRuns { get; internal set; }

    internal byte[] For(string name, long bytes)
    {
        if (!_buffers.TryGetValue(name, out var buffer) || buffer.LongLength != bytes)
        {
            buffer = new byte[bytes];
            _buffers[name] = buffer;
        }
        return buffer;
    }

    /// <summary>The tensors the last run produced for these outputs, if it ran with inputs of the same shapes.</summary>
    internal bool TryGetOutputs(string inputSignature, IReadOnlyList<string> names, out Tensor[] outputs)
    {
        outputs = [];
        if (_inputSignature != inputSignature)
        {
            return false;
        }
        var found = new Tensor[names.Count];
        for (var i = 0; i < names.Count; i++)
        {
            if (!_outputs.TryGetValue(names[i], out var tensor))
            {
                return false;
            }
            found[i] = tensor;
        }
        outputs = found;
        return true;
    }

    /// <summary>Remembers the output tensors (built on these buffers) of a run with inputs of these shapes.</summary>
    internal void Remember(string inputSignature, IReadOnlyList<string> names, IReadOnlyList<Tensor> outputs)
    {
        if (_inputSignature != inputSignature)
        {
            _outputs.Clear();
            _inputSignature = inputSignature;
        }
        for (var i = 0; i < names.Count; i++)
        {
            _outputs[names[i]] = outputs[i];
        }
    }
}
