using SharpQuant.Passes;
using SharpQuant.Runtime;

namespace SharpQuant.Quantization;

/// <summary>
/// A working copy of a simulation that measures, in one ONNX Runtime run per batch, the per-channel mean of the
/// input of every given layer as the simulation computes it. ONNX Runtime reduces each input with a
/// GlobalAveragePool, so only [N, C, 1, 1] per layer comes back instead of every input copied out (about 50 MB per
/// batch of 8 on ResNet18). The copy's biases are set here; the simulation itself is not touched.
/// </summary>
internal sealed class LayerInputMeans : IDisposable
{
    private readonly GraphExecutor _executor;
    private readonly LinearLayer[] _layers;
    // Per layer, the value whose channel means are its input's: a GlobalAveragePool output, or the input itself
    // where it is not a feature map (a Gemm's [N, C]), which is small enough to reduce here.
    private readonly string[] _meanSources;
    private readonly string[] _taps;
    private readonly Dictionary<string, int> _channels = new(StringComparer.Ordinal);
    private readonly TensorBuffers _buffers = new();

    /// <param name="layers">Layers of <paramref name="sim"/>'s graph.</param>
    public LayerInputMeans(QuantSim sim, IReadOnlyList<LinearLayer> layers, ExecutorOptions? options)
    {
        var graph = sim.Graph.Clone();
        // A clone keeps the node order, so the layers are found by position.
        var nodes = sim.Graph.Nodes;
        _layers = layers.Select(l => LinearLayer.Create(graph.Nodes[IndexOf(nodes, l.Node)])).ToArray();
        var pooled = new Dictionary<string, string>(StringComparer.Ordinal);
        _meanSources = new string[_layers.Length];
        for (var i = 0; i < _layers.Length; i++)
        {
            var input = _layers[i].Node.Input(0);
            if (!pooled.TryGetValue(input.Name, out var source))
            {
                source = input.Shape is { Count: >= 3 } shape
                    ? Pool(graph, input, shape, _layers[i].InChannels)
                    : input.Name;
                pooled[input.Name] = source;
            }
            _meanSources[i] = source;
            _channels[source] = _layers[i].InChannels;
        }
        _taps = _meanSources.Distinct(StringComparer.Ordinal).ToArray();
        // As QuantSim.CreateExecutor runs the simulation: ONNX Runtime's Conv–Mul fusion would fold the requantization
        // multiplier into the integer weights of the fully quantized convolutions.
        options ??= ExecutorOptions.Default;
        _executor = new GraphExecutor(graph, options with { DisabledOptimizers = [.. options.DisabledOptimizers.Append(IntegerConvUnit.ConvMulFusion).Distinct()] }, FakeQuantLowering.Lower);
    }

    private static int IndexOf(IReadOnlyList<Node> nodes, Node node)
    {
        for (var i = 0; i < nodes.Count; i++)
        {
            if (ReferenceEquals(nodes[i], node))
            {
                return i;
            }
        }
        throw new ArgumentException($"'{node.ModuleName}' is not a node of the simulation", nameof(node));
    }

    private static string Pool(Graph graph, Value input, IReadOnlyList<Dim> shape, int channels)
    {
        var pool = graph.AddNode("GlobalAveragePool", [input], moduleName: input.Name + ".channel_mean");
        pool.Output.ElementType = ElementType.Float;
        pool.Output.Shape = [shape[0], Dim.Of(channels), .. Enumerable.Repeat(Dim.Of(1), shape.Count - 2)];
        return pool.Output.Name;
    }

    /// <summary>Sets layer <paramref name="index"/>'s bias in the copy (the next run rebuilds the session).</summary>
    public void SetBias(int index, float[] bias) => _layers[index].SetBias(bias);

    /// <summary>
    /// Each layer input's channel means: per batch the mean over its samples and positions, averaged over the batches
    /// (as <see cref="BiasCorrection.EmpiricalSequential"/> measures them), from one run per batch.
    /// </summary>
    public double[][] Measure(IReadOnlyList<InputBatch> batches)
    {
        var means = _taps.ToDictionary(t => t, t => new double[_channels[t]], StringComparer.Ordinal);
        foreach (var batch in batches)
        {
            // The taps are reduced before the next run, so one set of output arrays serves every batch.
            var result = _executor.Run(batch.Tensors, _taps, _buffers);
            foreach (var tap in _taps)
            {
                BiasCorrection.AddChannelMeans(result[tap], means[tap], batches.Count);
            }
        }
        return _meanSources.Select(s => means[s]).ToArray();
    }

    public void Dispose() => _executor.Dispose();
}
