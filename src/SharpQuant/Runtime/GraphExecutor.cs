using Microsoft.ML.OnnxRuntime;
using SharpQuant.Onnx;

namespace SharpQuant.Runtime;

/// <summary>
/// Runs a graph in ONNX Runtime. The graph is lowered to ONNX bytes and a session is created once per set of taps
/// (intermediate values exposed as extra outputs) and reused until the graph changes. Everything returned is a
/// copy owned by the caller.
/// </summary>
public sealed class GraphExecutor : IDisposable
{
    private readonly Graph _graph;
    private readonly ExecutorOptions _options;
    private readonly Func<Graph, IReadOnlyCollection<string>, Graph>? _lowering;
    private readonly Dictionary<string, CachedSession> _sessions = new(StringComparer.Ordinal);
    private long _graphVersion = -1;
    private long _useCounter;
    private bool _disposed;

    /// <param name="lowering">
    /// Rewrites the graph into standard ONNX before it runs (for example FakeQuant nodes), given the values that will
    /// be tapped; it must keep value names and keep the tapped values computable.
    /// </param>
    public GraphExecutor(Graph graph, ExecutorOptions? options = null, Func<Graph, IReadOnlyCollection<string>, Graph>? lowering = null)
    {
        _graph = graph;
        _options = options ?? ExecutorOptions.Default;
        _lowering = lowering;
    }

    public Graph Graph => _graph;
    public ExecutorOptions Options => _options;

    /// <summary>Runs one batch of a single-input model and returns its first output.</summary>
    public Tensor Run(Tensor input)
    {
        if (_graph.Inputs.Count != 1)
        {
            throw new SharpQuantException($"the model has {_graph.Inputs.Count} inputs; pass them by name");
        }
        return Run(new Dictionary<string, Tensor> { [_graph.Inputs[0].Name] = input }).Output;
    }

    /// <summary>Runs one batch and returns the graph outputs plus the values named in <paramref name="taps"/>, all from the same run.</summary>
    /// <param name="reuse">Keep output arrays between runs: the returned tensors are then overwritten by the next run with the same buffers.</param>
    public RunResult Run(IReadOnlyDictionary<string, Tensor> inputs, IReadOnlyCollection<string>? taps = null, TensorBuffers? reuse = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var results = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        // Constants and graph inputs need no run to be observed.
        foreach (var name in (taps ?? []).Distinct(StringComparer.Ordinal))
        {
            var value = _graph.FindValue(name) ?? throw new SharpQuantException($"cannot tap '{name}': the graph has no such value");
            if (value.ConstantValue is { } constant)
            {
                results[name] = constant;
            }
            else if (value.IsGraphInput)
            {
                results[name] = inputs.TryGetValue(name, out var given) ? given : value.DefaultValue ?? throw new SharpQuantException($"model input '{name}' was not given");
            }
        }

        var cached = SessionFor(ComputedTaps(taps ?? []));
        var pinned = new List<PinnedOrtValue>(_graph.Inputs.Count);
        try
        {
            // An input the file gives a default for may be left out; ONNX Runtime would use the same default.
            var fed = _graph.Inputs
                .Select(i => inputs.GetValueOrDefault(i.Name) ?? i.DefaultValue ?? throw new SharpQuantException($"model input '{i.Name}' was not given"))
                .ToList();
            foreach (var tensor in fed)
            {
                pinned.Add(new PinnedOrtValue(tensor));
            }
            var signature = string.Join(';', fed.Select(t => Shapes.Format(t.Shape)));
            // Output shapes that depend on input values (not only input shapes) would not fit the bound buffers:
            // such a run fails inside ONNX Runtime and is simply repeated with outputs it allocates itself.
            if (reuse is not null && reuse.TryGetOutputs(signature, cached.OutputNames, out var bound) && TryRunInto(cached, pinned, bound))
            {
                reuse.DirectRuns++;
                for (var k = 0; k < bound.Length; k++)
                {
                    results[cached.OutputNames[k]] = bound[k];
                }
            }
            else
            {
                using var outputs = cached.Session.Run(cached.RunOptions, cached.InputNames, pinned.Select(p => p.Value).ToArray(), cached.OutputNames);
                var produced = new List<Tensor>(cached.OutputNames.Length);
                var i = 0;
                foreach (var output in outputs)
                {
                    var name = cached.OutputNames[i++];
                    var tensor = OrtTensors.ToTensor(output, name, reuse);
                    results[name] = tensor;
                    produced.Add(tensor);
                }
                reuse?.Remember(signature, cached.OutputNames, produced);
            }
        }
        catch (OnnxRuntimeException e)
        {
            throw new SharpQuantException($"ONNX Runtime failed to run the model: {e.Message}", e);
        }
        finally
        {
            foreach (var p in pinned)
            {
                p.Dispose();
            }
        }
        return new RunResult(results, _graph.Outputs.Select(o => o.Name).ToArray());
    }

    /// <summary>Runs with the outputs bound to existing tensors: ONNX Runtime writes the results straight into them.</summary>
    private static bool TryRunInto(CachedSession cached, List<PinnedOrtValue> inputs, Tensor[] outputs)
    {
        var bound = outputs.Select(t => new PinnedOrtValue(t)).ToList();
        try
        {
            cached.Session.Run(cached.RunOptions, cached.InputNames, inputs.Select(p => p.Value).ToArray(), cached.OutputNames, bound.Select(b => b.Value).ToArray());
            return true;
        }
        catch (OnnxRuntimeException)
        {
            return false;
        }
        finally
        {
            foreach (var b in bound)
            {
                b.Dispose();
            }
        }
    }

    /// <summary>Creates (or reuses) the session for this set of taps, so the first timed run does not pay for it.</summary>
    public void Warm(IReadOnlyCollection<string>? taps = null) => SessionFor(ComputedTaps(taps ?? []));

    /// <summary>
    /// How many of these taps the session returns in ONNX Runtime's blocked layout (with
    /// <see cref="ExecutorOptions.TapsInAnyOrder"/>); the rest come in the graph's own layout.
    /// </summary>
    public int BlockedTapCount(IReadOnlyCollection<string> taps) => SessionFor(ComputedTaps(taps)).BlockedTaps;

    /// <summary>The taps a run must compute: neither constants nor graph inputs.</summary>
    private List<string> ComputedTaps(IReadOnlyCollection<string> taps) =>
        taps.Distinct(StringComparer.Ordinal)
            .Where(name => _graph.FindValue(name) is not { } value || value.ConstantValue is null && !value.IsGraphInput)
            .ToList();

    private CachedSession SessionFor(List<string> taps)
    {
        if (_graph.Version != _graphVersion)
        {
            ClearSessions();
            _graphVersion = _graph.Version;
        }
        var key = string.Join('\n', taps.Order(StringComparer.Ordinal));
        if (_sessions.TryGetValue(key, out var cached))
        {
            cached.LastUse = ++_useCounter;
            return cached;
        }
        if (_sessions.Count >= Math.Max(1, _options.MaxCachedSessions))
        {
            var oldest = _sessions.MinBy(s => s.Value.LastUse);
            oldest.Value.Dispose();
            _sessions.Remove(oldest.Key);
        }
        var lowered = _lowering is null ? _graph : _lowering(_graph, taps);
        SimulationGuard.EnsureRunnable(lowered);
        var extra = taps.Select(t => lowered.FindValue(t) ?? throw new SharpQuantException($"cannot tap '{t}': lowering removed it")).ToList();
        var bytes = OnnxExporter.ToBytes(lowered, extra);
        var inputNames = _graph.Inputs.Select(i => i.Name).ToArray();
        var outputNames = _graph.Outputs.Select(o => o.Name).Concat(taps).ToArray();
        var blocked = _options.TapsInAnyOrder && taps.Count > 0 && BlockedLayoutTaps.Applies(_options)
            ? TryBlockedLayout(bytes, taps.Where(t => !_graph.Outputs.Any(o => o.Name == t)).ToList())
            : null;
        cached = (blocked is null ? null : TryLoadBlocked(blocked, inputNames, outputNames))
            ?? new CachedSession(o => new InferenceSession(bytes, o), _options, inputNames, outputNames, owned: null);
        cached.LastUse = ++_useCounter;
        _sessions[key] = cached;
        return cached;
    }

    /// <summary>
    /// The model rewritten for blocked-layout taps, or null to run it as it is: the rewrite only saves time, so a
    /// temporary folder that cannot be written, or a model ORT cannot optimize (the plain session then reports why),
    /// falls back to the plain session.
    /// </summary>
    private BlockedModel? TryBlockedLayout(byte[] model, IReadOnlyCollection<string> taps)
    {
        try
        {
            return BlockedLayoutTaps.Rewrite(model, _options, taps);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OnnxRuntimeException or Google.Protobuf.InvalidProtocolBufferException)
        {
            return null;
        }
    }

    /// <summary>
    /// The session for a rewritten model, loaded with graph optimizations off (ORT has already run them on it); null,
    /// and the rewritten model deleted, when ORT refuses it: the plain session serves instead.
    /// </summary>
    private CachedSession? TryLoadBlocked(BlockedModel blocked, string[] inputNames, string[] outputNames)
    {
        try
        {
            return new CachedSession(o => new InferenceSession(blocked.Path, o), _options with { OptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL }, inputNames, outputNames, blocked);
        }
        catch (SharpQuantException)
        {
            return null;
        }
    }

    private void ClearSessions()
    {
        foreach (var s in _sessions.Values)
        {
            s.Dispose();
        }
        _sessions.Clear();
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        ClearSessions();
        _disposed = true;
    }

    private sealed class CachedSession : IDisposable
    {
        private readonly BlockedModel? _owned;

        /// <param name="owned">The rewritten model the session was loaded from, deleted with the session.</param>
        public CachedSession(Func<SessionOptions, InferenceSession> open, ExecutorOptions options, string[] inputNames, string[] outputNames, BlockedModel? owned)
        {
            _owned = owned;
            using var sessionOptions = options.CreateSessionOptions();
            try
            {
                Session = open(sessionOptions);
            }
            catch (OnnxRuntimeException e)
            {
                owned?.Dispose();
                throw new SharpQuantException($"ONNX Runtime could not load the model: {e.Message}", e);
            }
            InputNames = inputNames;
            OutputNames = outputNames;
        }

        public InferenceSession Session { get; }
        public RunOptions RunOptions { get; } = new();
        public string[] InputNames { get; }
        public string[] OutputNames { get; }
        public long LastUse { get; set; }
        public int BlockedTaps => _owned?.RemovedReorders ?? 0;

        public void Dispose()
        {
            RunOptions.Dispose();
            Session.Dispose();
            _owned?.Dispose();
        }
    }
}
