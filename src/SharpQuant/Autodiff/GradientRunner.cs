using SharpQuant.Runtime;

namespace SharpQuant.Autodiff;

/// <summary>Runs a <see cref="GradientGraph"/> in one ONNX Runtime session, created on the first run and reused.</summary>
public sealed class GradientRunner : IDisposable
{
    private readonly GradientGraph _gradients;
    private readonly GraphExecutor _executor;

    public GradientRunner(GradientGraph gradients, ExecutorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        _gradients = gradients;
        _executor = new GraphExecutor(gradients.Graph, options);
    }

    public GradientGraph Gradients => _gradients;

    /// <summary>Creates the session now, so that the first timed run does not pay for it.</summary>
    public void Warm() => _executor.Warm();

    /// <param name="inputs">The forward graph's inputs (and any extra inputs the loss reads).</param>
    /// <param name="parameters">Values for <see cref="GradientGraph.ParameterInputs"/>; missing ones take the constant's value at build time.</param>
    /// <param name="reuse">
    /// Output buffers kept between runs, for a loop that reads each run before the next (an optimizer step, a sum
    /// of gradients): ONNX Runtime then writes the gradients straight into them, and the returned run's tensors are
    /// overwritten by the next run with the same buffers. Without it every run returns fresh arrays, which for all of
    /// ResNet18's weights means allocating and copying 47 MB per run (`bench autodiff` measures both).
    /// </param>
    public GradientRun Run(IReadOnlyDictionary<string, Tensor> inputs, IReadOnlyDictionary<string, Tensor>? parameters = null, TensorBuffers? reuse = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var feed = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var name in _gradients.ForwardInputs)
        {
            feed[name] = inputs.TryGetValue(name, out var t) ? t : throw new SharpQuantException($"input '{name}' was not given");
        }
        foreach (var name in _gradients.ParameterInputs)
        {
            feed[name] = parameters is not null && parameters.TryGetValue(name, out var p) ? p : _gradients.DefaultValue(name);
        }
        if (parameters is not null && parameters.Keys.FirstOrDefault(k => !feed.ContainsKey(k)) is { } unknown)
        {
            throw new SharpQuantException($"'{unknown}' is not a parameter of this gradient graph (parameters: {string.Join(", ", _gradients.ParameterInputs)})");
        }
        return new GradientRun(_gradients, _executor.Run(feed, reuse: reuse));
    }

    public void Dispose() => _executor.Dispose();
}
