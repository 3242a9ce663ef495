using System.Collections.Concurrent;
using SharpQuant.Passes;
using SharpQuant.Runtime;

namespace SharpQuant.Quantization;

/// <summary>Progress of a calibration: batches done out of the total when known.</summary>
public readonly record struct CalibrationProgress(int Batches, int? Total, long Images);

/// <summary>
/// A graph with FakeQuant nodes at weights and activations, and the quantizers that drive them.
/// Weights: the weight input of every mapped Conv, ConvTranspose, Gemm and MatMul. Activations: the model
/// inputs, and the output of every linear layer and of every Add of two computed tensors, each taken after the
/// activation that follows it (ReLU, ReLU6, LeakyReLU): never between a conv and its ReLU. Any input of a
/// quantized op that is not yet quantized (for example after a MaxPool) also gets one, so that a QDQ export
/// has a quantized value in front of every integer op. By default (<see cref="ActivationPlacement.IntegerKernels"/>) the
/// outputs of the ops ONNX Runtime has integer kernels for (Sigmoid, Mul, GlobalAveragePool, …) are quantized too, where
/// their inputs are, so that the export runs them in int8.
/// </summary>
public sealed class QuantSim
{
    private readonly List<Quantizer> _quantizers = [];

    private QuantSim(Graph graph)
    {
        Graph = graph;
    }

    public Graph Graph { get; }
    public IReadOnlyList<Quantizer> Quantizers => _quantizers;

    public Quantizer this[string name] =>
        _quantizers.FirstOrDefault(q => q.Name == name) ?? throw new KeyNotFoundException($"no quantizer named '{name}'");

    /// <summary>Inserts FakeQuant nodes into a copy of <paramref name="graph"/> as <paramref name="mapping"/> says.</summary>
    public static QuantSim Prepare(Graph graph, QConfigMapping mapping) => Prepare(graph, mapping, ActivationPlacement.IntegerKernels);

    /// <summary>As <see cref="Prepare(Graph, QConfigMapping)"/>, with the activation placement chosen.</summary>
    public static QuantSim Prepare(Graph graph, QConfigMapping mapping, ActivationPlacement placement)
    {
        graph.Validate();
        var sim = new QuantSim(graph.Clone());
        sim.InsertWeightQuantizers(mapping);
        sim.InsertActivationQuantizers(mapping, placement);
        sim.Graph.Validate();
        foreach (var q in sim._quantizers.Where(q => q.Kind == QuantizerKind.Weight))
        {
            // Weights are constants: observe them now, so the simulation is ready without data for weight-only use.
            q.Observe(q.Input.ConstantValue!);
            q.UpdateQParams();
        }
        return sim;
    }

    /// <summary>A linear layer with a constant weight, possibly already behind its weight FakeQuant.</summary>
    private static bool IsQuantizedLayer(Node node) => LinearLayer.IsLinearOp(node) && LinearLayer.WeightValue(node) is not null;

    private static bool IsQuantizedAdd(Node node) =>
        node.OpType == "Add" && node.Inputs.Count == 2 && node.Inputs.All(i => i is { IsConstant: false });

    private void InsertWeightQuantizers(QConfigMapping mapping)
    {
        foreach (var node in Graph.Nodes.Where(IsQuantizedLayer).ToList())
        {
            if (mapping.Resolve(node)?.Weight is not { } spec)
            {
                continue;
            }
            spec = spec.Validated();
            var weight = node.Input(1);
            var axis = spec.Axis is null ? (int?)null : WeightChannelAxis(node);
            spec = spec with { Axis = axis };
            var channels = axis is { } a ? (int)weight.ConstantValue!.Shape[a] : 1;
            var name = node.ModuleName + ".weight_fake_quant";
            var fq = FakeQuantOp.Insert(Graph, weight, InitialQParams(spec, channels), name, after: null);
            // A FakeQuant of a constant must come before its reader; placing it first keeps the order topological.
            Graph.MoveBefore(fq, node);
            node.SetInput(1, fq.Output);
            _quantizers.Add(new Quantizer(name, QuantizerKind.Weight, spec, fq, node.ModuleName));
        }
    }

    /// <summary>The output-channel axis of a weight: 0 for Conv and Gemm with transB, 1 for ConvTranspose, MatMul and plain Gemm.</summary>
    public static int WeightChannelAxis(Node node) => node.OpType switch
    {
        "ConvTranspose" or "MatMul" => 1,
        "Gemm" => node.GetInt("transB", 0) == 1 ? 0 : 1,
        _ => 0,
    };

    private static QParams InitialQParams(QuantSpec spec, int channels)
    {
        var scale = spec.InitialScale is { } s ? Expand(s, channels) : Enumerable.Repeat(1f, channels).ToArray();
        var zero = spec.InitialZeroPoint is { } z ? Expand(z, channels) : Enumerable.Repeat(spec.Signed || spec.Scheme != QuantScheme.Symmetric ? 0 : (spec.QMin + spec.QMax + 1) / 2, channels).ToArray();
        return new QParams(scale, zero, spec.Axis, spec.QMin, spec.QMax);
    }

    private static T[] Expand<T>(T[] values, int count) =>
        values.Length == count ? values.ToArray()
        : values.Length == 1 ? Enumerable.Repeat(values[0], count).ToArray()
        : throw new SharpQuantException($"an initial quantization parameter has {values.Length} values for {count} channels");

    private void InsertActivationQuantizers(QConfigMapping mapping, ActivationPlacement placement)
    {
        var quantized = new HashSet<Value>(ReferenceEqualityComparer.Instance);
        // 1. The end of each unit: a linear layer or a two-input Add, with the activations that follow it.
        foreach (var node in Graph.Nodes.Where(n => IsQuantizedLayer(n) || IsQuantizedAdd(n)).ToList())
        {
            if (mapping.Resolve(node)?.Activation is not { } spec)
            {
                continue;
            }
            var end = UnitEnd(node);
            if (quantized.Contains(end.Output))
            {
                continue;
            }
            AddActivationQuantizer(end.Output, end, spec, end.ModuleName);
            quantized.Add(end.Output);
        }
        // 1b. The outputs of ops ONNX Runtime runs in int8 between quantized tensors (see IntegerKernelPlacement).
        if (placement == ActivationPlacement.IntegerKernels)
        {
            foreach (var value in IntegerKernelPlacement.Values(Graph, v => quantized.Contains(v) || v.Producer is { } p && FakeQuantOp.Is(p)))
            {
                if (value.Producer is { } producer && mapping.Resolve(producer)?.Activation is { } spec)
                {
                    spec = IntegerKernelPlacement.WantsFullRange(producer) && spec.InitialScale is null ? spec with { Observer = ObserverKind.MinMax } : spec;
                    AddActivationQuantizer(value, producer, spec, UniqueTarget(producer));
                    quantized.Add(value);
                }
            }
        }
        // 2. Every data input of a quantized op (model inputs, pooled or reshaped tensors) that is still float.
        foreach (var node in Graph.Nodes.Where(n => IsQuantizedLayer(n) || IsQuantizedAdd(n)).ToList())
        {
            if (mapping.Resolve(node)?.Activation is not { } spec)
            {
                continue;
            }
            var input = node.Input(0);
            var inputs = IsQuantizedAdd(node) ? node.Inputs.Select(i => i!).ToList() : [input];
            foreach (var value in inputs)
            {
                if (value.Producer is { } p && FakeQuantOp.Is(p) || quantized.Contains(value))
                {
                    continue;
                }
                var after = value.Producer;
                AddActivationQuantizer(value, after, spec, after?.ModuleName ?? value.Name);
                quantized.Add(value);
            }
        }
    }

    /// <summary>
    /// The node's module name, or with its op type appended where another quantizer already has it (PyTorch's SiLU
    /// exports a Sigmoid and a Mul under one module name).
    /// </summary>
    private string UniqueTarget(Node node)
    {
        var target = node.ModuleName;
        for (var i = 0; _quantizers.Any(q => q.Target == target); i++)
        {
            target = node.ModuleName + "." + node.OpType.ToLowerInvariant() + (i == 0 ? "" : i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        return target;
    }

    private void AddActivationQuantizer(Value value, Node? after, QuantSpec spec, string target)
    {
        spec = spec.Validated() with { Axis = null };
        var name = target + ".activation_fake_quant";
        var readers = value.Uses.ToArray();
        var fq = FakeQuantOp.Insert(Graph, value, InitialQParams(spec, 1), name, after);
        if (after is null)
        {
            Graph.MoveBefore(fq, Graph.Nodes[0]);
        }
        foreach (var use in readers)
        {
            use.Node.SetInput(use.InputIndex, fq.Output);
        }
        // A graph output keeps its float value and its name: only the readers inside the graph see the quantized one.
        var quantizer = new Quantizer(name, QuantizerKind.Activation, spec, fq, target);
        // Activations start as observers only (PyTorch's prepare): fake quantization comes on after calibration,
        // unless the spec brings its own initial scale (the learnable presets).
        quantizer.FakeQuantEnabled = spec.InitialScale is not null;
        _quantizers.Add(quantizer);
    }

    /// <summary>The last node of a unit: follows single-reader activations after a layer or Add.</summary>
    private static Node UnitEnd(Node node)
    {
        var end = node;
        while (end.Output.Uses.Count == 1 && !end.Output.IsGraphOutput && end.Output.Uses[0].Node is { } next && IsFusedActivation(next))
        {
            end = next;
        }
        return end;
    }

    private static bool IsFusedActivation(Node node) =>
        node.OpType is "Relu" or "LeakyRelu" || node.OpType == "Clip" && EqualizationSetFinder.ClipBounds(node).Min == 0
        // The per-channel bound of an exactly equalized ReLU6 (Relu, then Min with a constant): still the activation.
        || node.OpType == "Min" && node.Inputs.Count == 2 && node.Inputs[1] is { IsConstant: true } && node.Input(0).Producer?.OpType == "Relu";

    /// <summary>
    /// ONNX Runtime's NCHWc layout transformer, by name, for a session that wants it off. Calibration keeps it on
    /// and takes its taps in the blocked layout (<see cref="ExecutorOptions.TapsInAnyOrder"/>): with every
    /// activation of ResNet18 tapped, steady-state calibration ran at 0.79× the throughput of plain inference with
    /// the layout (taps reordered) and 0.56× without it, measured side by side on this machine.
    /// </summary>
    public const string NchwcTransformer = BlockedLayoutTaps.NchwcTransformer;

    /// <summary>
    /// An executor that runs the simulation (FakeQuant lowered to elementwise ONNX ops, fully quantized convolutions
    /// in integer form). ONNX Runtime's Conv–Mul fusion is left out: it would fold the requantization multiplier
    /// into the integer weights of those convolutions.
    /// </summary>
    public GraphExecutor CreateExecutor(ExecutorOptions? options = null)
    {
        options ??= ExecutorOptions.Default;
        return new(Graph, options with { DisabledOptimizers = [.. options.DisabledOptimizers.Append(IntegerConvUnit.ConvMulFusion).Distinct()] }, FakeQuantLowering.Lower);
    }

    /// <summary>
    /// Runs the batches with every observing activation quantizer's input tapped (one ONNX Runtime run per batch),
    /// feeds the observers, then sets scale and zero point, turns observation off and fake quantization on.
    /// Weights were observed at <see cref="Prepare"/>.
    /// </summary>
    public void Calibrate(IEnumerable<Tensor> batches, IProgress<CalibrationProgress>? progress = null, ExecutorOptions? options = null, int? totalBatches = null) =>
        Calibrate(InputBatch.For(Graph, batches), progress, options, totalBatches);

    /// <summary>Calibration on batches of named input tensors (every graph input fed), for models with several inputs.</summary>
    public void Calibrate(IEnumerable<InputBatch> batches, IProgress<CalibrationProgress>? progress = null, ExecutorOptions? options = null, int? totalBatches = null)
    {
        var observing = _quantizers.Where(q => q.Kind == QuantizerKind.Activation && q.ObserverEnabled).ToList();
        if (observing.Count > 0)
        {
            // Observers of whole tensors see each tap as a multiset of values, so ORT may hand taps over in its
            // blocked layout instead of reordering each back to NCHW (per-channel observers need the channels).
            // Each batch is run, then observed: ORT and the observers each use every core in turn. Overlapping them
            // (observing batch i while ORT runs batch i + 1) measured no faster on the 2-core bench machine, 0.78–0.84×
            // of plain inference against 0.83–0.84× in turn, since both sides are already parallel. Nor do ORT's
            // threads spin between ops, which would take the cores from the observers as each run ends.
            var anyOrder = observing.All(q => !q.Spec.IsPerChannel);
            using var executor = CreateExecutor((options ?? ExecutorOptions.Default) with { AllowSpinning = false, TapsInAnyOrder = anyOrder });
            var taps = observing.Select(q => q.Input.Name).Distinct().ToArray();
            var count = 0;
            long images = 0;
            // Observers keep statistics, never the tensors, so one set of output arrays serves every batch.
            var buffers = new TensorBuffers();
            foreach (var batch in batches)
            {
                CalibrationBatchSize.Fit(Graph, batch);
                Observe(observing, executor.Run(batch.Tensors, taps, buffers));
                images += batch.Size;
                count++;
                progress?.Report(new CalibrationProgress(count, totalBatches, images));
            }
            if (count == 0)
            {
                throw new SharpQuantException("calibration needs at least one batch");
            }
        }
        var finishing = _quantizers.Where(q => q.ObserverEnabled).ToList();
        // Choosing a range (an entropy or MSE search) is independent per quantizer; only the graph edits are serial.
        var ranges = new QParams?[finishing.Count];
        Parallel.For(0, finishing.Count, i => ranges[i] = finishing[i].ProposeQParams());
        for (var i = 0; i < finishing.Count; i++)
        {
            if (ranges[i] is { } p)
            {
                finishing[i].SetQParams(p);
            }
            finishing[i].ObserverEnabled = false;
            finishing[i].FakeQuantEnabled = true;
        }

    }

    private static void Observe(IReadOnlyList<Quantizer> observing, RunResult result)
    {
        // Observers are independent: spread them over the cores, largest tensor first, one at a time (so that the
        // stem's large activation does not end up last on one core while the other idles).
        var largestFirst = observing.OrderByDescending(q => result[q.Input.Name].ElementCount).ToList();
        Parallel.ForEach(Partitioner.Create(largestFirst, EnumerablePartitionerOptions.NoBuffering), q => q.Observe(result[q.Input.Name]));
    }

    /// <summary>The quantizers whose names match a glob (<c>*</c>, <c>?</c>), for bulk toggles.</summary>
    public IEnumerable<Quantizer> Match(string glob)
    {
        var regex = NamePattern.Glob(glob);
        return _quantizers.Where(q => regex.IsMatch(q.Name));
    }

    /// <summary>PyTorch's toggle_observer_update for every quantizer matching <paramref name="glob"/>.</summary>
    public int SetObserver(string glob, bool enabled) => Apply(glob, q => q.ObserverEnabled = enabled);

    /// <summary>PyTorch's toggle_fake_quant: a disabled quantizer is the identity in the lowered graph.</summary>
    public int SetFakeQuant(string glob, bool enabled) => Apply(glob, q => q.FakeQuantEnabled = enabled);

    /// <summary>PyTorch's enable_param_learning: fake quant on, observer off, parameters learnable.</summary>
    public int EnableParamLearning(string glob = "*") => Apply(glob, q =>
    {
        q.LearningEnabled = true;
        q.ObserverEnabled = false;
        q.FakeQuantEnabled = true;
    });

    /// <summary>PyTorch's enable_static_estimate: observe and fake-quantize, no learning.</summary>
    public int EnableStaticEstimate(string glob = "*") => Apply(glob, q =>
    {
        q.LearningEnabled = false;
        q.ObserverEnabled = true;
        q.FakeQuantEnabled = true;
    });

    /// <summary>PyTorch's enable_static_observation: observe only, fake quantization off, no learning.</summary>
    public int EnableStaticObservation(string glob = "*") => Apply(glob, q =>
    {
        q.LearningEnabled = false;
        q.ObserverEnabled = true;
        q.FakeQuantEnabled = false;
    });

    private int Apply(string glob, Action<Quantizer> action)
    {
        var matched = Match(glob).ToList();
        matched.ForEach(action);
        return matched.Count;
    }
}
