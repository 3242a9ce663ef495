using System.Diagnostics;
using SharpQuant.Quantization;
using SharpQuant.Runtime;

namespace SharpQuant.Analysis;

/// <summary>
/// Per-layer quantization sensitivity of a calibrated <see cref="QuantSim"/>, and the accuracy-aware mode that
/// keeps the most sensitive layers in float until the model meets a target.
/// <para>
/// Each configuration turns fake quantization on for some quantizers and off for the rest, and compares the
/// model's first output with the float model's on the same fixed batches (<see cref="FidelityAccumulator"/>;
/// top-1 accuracy with <see cref="AccuracyAccumulator"/> when labels are given). One executor is reused; a toggle
/// changes the graph, so every configuration costs one ONNX Runtime session build plus one run per batch. On
/// ResNet18 (22 conv rows and 10 activation-only rows) <see cref="SensitivityModes.All"/> is about 80
/// configurations, so a handful of images, or a subset of modes or layers, keeps it to a minute or less.
/// </para>
/// Only quantizers whose fake quantization is on when a measurement starts take part; every toggle is restored
/// afterwards, also when a run fails.
/// </summary>
public sealed class LayerSensitivity : IDisposable
{
    private readonly QuantSim _sim;
    private readonly IReadOnlyList<Tensor> _batches;
    private readonly IReadOnlyList<int[]>? _labels;
    private readonly List<Tensor> _reference = [];
    private readonly GraphExecutor _executor;

    /// <param name="sim">A calibrated simulation; its toggles are changed during a measurement and then restored.</param>
    /// <param name="floatGraph">The float graph the simulation was prepared from: the reference outputs.</param>
    /// <param name="batches">The inputs every configuration runs, kept fixed so configurations compare.</param>
    /// <param name="labels">The true class of each sample of each batch, for accuracy; null without labels.</param>
    public LayerSensitivity(QuantSim sim, Graph floatGraph, IReadOnlyList<Tensor> batches, IReadOnlyList<int[]>? labels = null, ExecutorOptions? options = null)
    {
        if (batches.Count == 0)
        {
            throw new SharpQuantException("sensitivity analysis needs at least one batch");
        }
        if (labels is not null)
        {
            if (labels.Count != batches.Count)
            {
                throw new SharpQuantException($"{labels.Count} label arrays for {batches.Count} batches");
            }
            for (var i = 0; i < batches.Count; i++)
            {
                var samples = batches[i].Rank == 0 ? 1 : batches[i].Shape[0];
                if (labels[i].Length != samples)
                {
                    throw new SharpQuantException($"batch {i} has {samples} samples but {labels[i].Length} labels");
                }
            }
        }
        _sim = sim;
        _batches = batches;
        _labels = labels;
        var floatAccuracy = labels is null ? null : new AccuracyAccumulator(1);
        using (var reference = new GraphExecutor(floatGraph, options))
        {
            for (var i = 0; i < batches.Count; i++)
            {
                var output = reference.Run(batches[i]);
                _reference.Add(output);
                floatAccuracy?.Add(output, labels![i]);
            }
        }
        FloatAccuracy = floatAccuracy?.Report();
        _executor = sim.CreateExecutor(options);
    }

    /// <summary>The float model's accuracy on the batches; null without labels.</summary>
    public AccuracyReport? FloatAccuracy { get; }

    /// <summary>
    /// The rows of a sensitivity table: weight quantizers by the layer they quantize; an activation quantizer joins
    /// the layer whose unit it ends (conv → ReLU → quantizer), else it is a row of its own named by its target.
    /// In graph order (weights' layers first as the simulation lists them).
    /// </summary>
    public static IReadOnlyList<LayerQuantizers> Group(QuantSim sim, bool enabledOnly = true)
    {
        var quantizers = sim.Quantizers.Where(q => !enabledOnly || q.FakeQuantEnabled).ToList();
        var order = new List<string>();
        var weights = new Dictionary<string, List<Quantizer>>(StringComparer.Ordinal);
        var activations = new Dictionary<string, List<Quantizer>>(StringComparer.Ordinal);
        // Layers are keyed by every weight quantizer, also a disabled one, so an activation still finds its layer's name.
        var layers = sim.Quantizers.Where(q => q.Kind == QuantizerKind.Weight).Select(q => q.Target).ToHashSet(StringComparer.Ordinal);
        foreach (var q in quantizers)
        {
            var row = q.Kind == QuantizerKind.Weight ? q.Target : LayerOf(q, layers);
            if (!weights.ContainsKey(row))
            {
                order.Add(row);
                weights[row] = [];
                activations[row] = [];
            }
            (q.Kind == QuantizerKind.Weight ? weights : activations)[row].Add(q);
        }
        return order.Select(r => new LayerQuantizers(r, weights[r], activations[r])).ToList();
    }

    /// <summary>The layer whose unit an activation quantizer ends: back from its input through ReLU-like ops.</summary>
    private static string LayerOf(Quantizer activation, HashSet<string> layers)
    {
        var node = activation.Input.Producer;
        while (node is not null && node.OpType is "Relu" or "LeakyRelu" or "Clip" && !layers.Contains(node.ModuleName))
        {
            node = node.Inputs.Count > 0 ? node.Inputs[0]?.Producer : null;
        }
        return node is not null && layers.Contains(node.ModuleName) ? node.ModuleName : activation.Target;
    }

    /// <summary>Measures every selected row in every selected mode and returns the table, most sensitive first.</summary>
    public SensitivityTable Measure(SensitivityOptions? options = null)
    {
        options ??= new SensitivityOptions();
        var modes = options.Modes & SensitivityModes.All;
        if (modes == SensitivityModes.None)
        {
            throw new SharpQuantException("sensitivity analysis needs at least one mode (weights, activations, both)");
        }
        var clock = Stopwatch.StartNew();
        var groups = Group(_sim);
        if (options.Layers is { } patterns)
        {
            var regexes = patterns.Select(NamePattern.Glob).ToList();
            groups = groups.Where(g => regexes.Any(r => r.IsMatch(g.Layer))).ToList();
            if (groups.Count == 0)
            {
                throw new SharpQuantException($"no quantized layer matches {string.Join(", ", patterns)}");
            }
        }
        var enabled = _sim.Quantizers.Where(q => q.FakeQuantEnabled).ToList();
        var plan = Plan(groups, modes);
        var total = plan.Count + 1 + (modes.HasFlag(SensitivityModes.Weights) ? 1 : 0) + (modes.HasFlag(SensitivityModes.Activations) ? 1 : 0);
        var done = 0;
        var snapshot = Snapshot();
        try
        {
            double Run(IEnumerable<Quantizer> on)
            {
                var sqnr = Evaluate(on).Fidelity.SqnrDb;
                done++;
                options.Progress?.Report((done, total));
                return sqnr;
            }

            var all = Run(enabled);
            double? allWeights = modes.HasFlag(SensitivityModes.Weights) ? Run(enabled.Where(q => q.Kind == QuantizerKind.Weight)) : null;
            double? allActivations = modes.HasFlag(SensitivityModes.Activations) ? Run(enabled.Where(q => q.Kind == QuantizerKind.Activation)) : null;
            var measured = new Dictionary<(string, SensitivityModes), double>();
            foreach (var (group, mode, on) in plan)
            {
                measured[(group.Layer, mode)] = Run(on);
            }
            double? Get(LayerQuantizers g, SensitivityModes mode) => measured.TryGetValue((g.Layer, mode), out var v) ? v : null;
            var rows = groups.Select(g => new LayerSensitivityRow(
                    g.Layer,
                    g.All.Select(q => q.Name).ToList(),
                    Get(g, SensitivityModes.Weights),
                    Get(g, SensitivityModes.Activations),
                    // A layer with one kind only: "both" is that kind, measured once.
                    !modes.HasFlag(SensitivityModes.Both) ? null
                        : Get(g, SensitivityModes.Both) ?? Get(g, g.Weights.Count > 0 ? SensitivityModes.Weights : SensitivityModes.Activations)))
                .OrderBy(r => r.SortKey)
                .ToList();
            return new SensitivityTable(rows, modes, _reference.Sum(r => r.Rank == 0 ? 1 : r.Shape[0]), all, allWeights, allActivations, done, clock.Elapsed);
        }
        finally
        {
            Restore(snapshot);
        }
    }

    /// <summary>The configurations to run: one per row and mode, "both" only where a row has both kinds (else it is the measured kind).</summary>
    private static List<(LayerQuantizers Group, SensitivityModes Mode, IReadOnlyList<Quantizer> On)> Plan(IReadOnlyList<LayerQuantizers> groups, SensitivityModes modes)
    {
        var plan = new List<(LayerQuantizers, SensitivityModes, IReadOnlyList<Quantizer>)>();
        foreach (var g in groups)
        {
            var hasBoth = g.Weights.Count > 0 && g.Activations.Count > 0;
            if (g.Weights.Count > 0 && (modes.HasFlag(SensitivityModes.Weights) || !hasBoth && modes.HasFlag(SensitivityModes.Both)))
            {
                plan.Add((g, SensitivityModes.Weights, g.Weights));
            }
            if (g.Activations.Count > 0 && (modes.HasFlag(SensitivityModes.Activations) || !hasBoth && modes.HasFlag(SensitivityModes.Both)))
            {
                plan.Add((g, SensitivityModes.Activations, g.Activations));
            }
            if (hasBoth && modes.HasFlag(SensitivityModes.Both))
            {
                plan.Add((g, SensitivityModes.Both, g.All.ToList()));
            }
        }
        return plan;
    }

    /// <summary>
    /// The accuracy-aware mode: starting from the whole model quantized (every quantizer that is on now), keeps the
    /// rows of <paramref name="table"/> in float one at a time, in table order (most sensitive first), until the
    /// model meets <paramref name="target"/> or every row is in float. One configuration per step.
    /// </summary>
    public AccuracyAwareResult KeepFloatUntil(SensitivityTable table, QualityTarget target, IProgress<AccuracyAwareStep>? progress = null)
    {
        target = target.Validated();
        if (target.MaxAccuracyDropPoints is not null && _labels is null)
        {
            throw new SharpQuantException("an accuracy-drop target needs labels");
        }
        var groups = Group(_sim).ToDictionary(g => g.Layer, StringComparer.Ordinal);
        var candidates = table.Rows.Select(r => r.Layer).Where(groups.ContainsKey).ToList();
        var enabled = _sim.Quantizers.Where(q => q.FakeQuantEnabled).ToList();
        var snapshot = Snapshot();
        try
        {
            var floatLayers = new List<string>();
            var floatQuantizers = new HashSet<Quantizer>(ReferenceEqualityComparer.Instance);
            var steps = new List<AccuracyAwareStep>();
            AccuracyAwareStep Step(string? layer)
            {
                var (fidelity, accuracy) = Evaluate(enabled.Where(q => !floatQuantizers.Contains(q)));
                double? drop = accuracy is null ? null : 100 * (FloatAccuracy!.Top1 - accuracy.Top1);
                var step = new AccuracyAwareStep(layer, floatLayers.ToList(), fidelity.SqnrDb, accuracy?.Top1, drop, target.IsMetBy(fidelity.SqnrDb, drop));
                steps.Add(step);
                progress?.Report(step);
                return step;
            }

            var current = Step(null);
            foreach (var layer in candidates)
            {
                if (current.Met)
                {
                    break;
                }
                floatLayers.Add(layer);
                floatQuantizers.UnionWith(groups[layer].All);
                current = Step(layer);
            }
            return new AccuracyAwareResult(target, steps, enabled.Where(floatQuantizers.Contains).Select(q => q.Name).ToList(), FloatAccuracy?.Top1);
        }
        finally
        {
            Restore(snapshot);
        }
    }

    /// <summary>Runs every batch with exactly <paramref name="on"/> fake-quantizing.</summary>
    private (FidelityReport Fidelity, AccuracyReport? Accuracy) Evaluate(IEnumerable<Quantizer> on)
    {
        var set = on.ToHashSet(ReferenceEqualityComparer.Instance);
        foreach (var q in _sim.Quantizers)
        {
            q.FakeQuantEnabled = set.Contains(q);
        }
        var fidelity = new FidelityAccumulator();
        var accuracy = _labels is null ? null : new AccuracyAccumulator(1);
        for (var i = 0; i < _batches.Count; i++)
        {
            var output = _executor.Run(_batches[i]);
            fidelity.Add(_reference[i], output);
            accuracy?.Add(output, _labels![i]);
        }
        return (fidelity.Report(), accuracy?.Report());
    }

    private bool[] Snapshot() => _sim.Quantizers.Select(q => q.FakeQuantEnabled).ToArray();

    private void Restore(bool[] snapshot)
    {
        for (var i = 0; i < snapshot.Length; i++)
        {
            _sim.Quantizers[i].FakeQuantEnabled = snapshot[i];
        }
    }

    public void Dispose() => _executor.Dispose();
}
