namespace SharpQuant.Runtime;

/// <summary>
/// Output buffers kept between runs, by value name. A loop that reads each run's outputs before the next run (a
/// calibration pass) saves allocating, zeroing and collecting large arrays every batch: tapping every activation of
/// ResNet18 returns over 100 MB per batch of 8. Tensors built on these buffers are overwritten by the next run.
/// </summary>
public sealed class TensorBuffers
{
    private readonly Dictionary<string, byte[]> _buffers = new(StringComparer.Ordinal);

    internal byte[] For(string name, long bytes)
    {
        if (!_buffers.TryGetValue(name, out var buffer) || buffer.LongLength != bytes)
        {
            buffer = new byte[bytes];
            _buffers[name] = buffer;
        }
        return buffer;
    }
}
