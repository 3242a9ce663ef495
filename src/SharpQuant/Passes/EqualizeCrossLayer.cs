using System.Numerics.Tensors;
using System.Diagnostics;

namespace SharpQuant.Passes;

public sealed record EqualizationOptions
{
    public RangeMode Ranges { get; init; } = RangeMode.MaxAbs;

    /// <summary>Stop when the summed Frobenius norm of the weight changes in a sweep is below this (PyTorch's default).</summary>
    public double Threshold { get; init; } = 1e-4;

    public int MaxSweeps { get; init; } = 100;
    /// <summary>Exact by default: MobileNetV2-style ReLU6 blocks are equalized and the float function is kept.</summary>
    public Relu6Mode Relu6 { get; init; } = Relu6Mode.Exact;
}

/// <summary>The spread of a layer's per-output-channel weight ranges (largest over smallest), before and after.</summary>
public sealed record LayerSpread(string Layer, double Before, double After);

public sealed record SetEqualization(EqualizationSet Set, IReadOnlyList<LayerSpread> Spreads);

public sealed record EqualizeReport(
    EqualizationSetsReport Discovery,
    IReadOnlyList<SetEqualization> Sets,
    int Sweeps,
    double FinalChange,
    bool Converged,
    TimeSpan Elapsed,
    IReadOnlyList<string> ModelChanges)
{
    /// <summary>
    /// Channels left at factor 1 because their weight range is dead (below <see cref="EqualizeCrossLayer.DeadChannelRelativeRange"/>
    /// of the largest in its layer, on either side of the set), counted once per set and channel.
    /// </summary>
    public int DeadChannels { get; init; }

    /// <summary>The summed weight change of each sweep, first to last (the last is <see cref="FinalChange"/>): how equalization converged.</summary>
    public IReadOnlyList<double> SweepChanges { get; init; } = [];
}

/// <summary>
/// Cross-layer equalization (Nagel et al. 2019). For a pair, s_c = √(r1_c / r2_c): row c of W1 and b1 are divided
/// by s_c and input channel c of W2 multiplied by it. For a depthwise triple the cube-root scaling leaves the three
/// ranges equal. Sweeps over all sets repeat until the summed norm of the weight changes in a sweep falls below the
/// threshold (PyTorch's convergence test). A zero, NaN or infinite range leaves its channel unscaled, and so does a dead
/// channel (its range below <see cref="DeadChannelRelativeRange"/> of its layer's largest): scaling it would multiply its
/// bias by up to 1e15 and wreck float invariance. No factor leaves [<see cref="MinFactor"/>, <see cref="MaxFactor"/>].
/// </summary>
public sealed class EqualizeCrossLayer(EqualizationOptions? options = null) : GraphPass<EqualizeReport>
{
    /// <summary>PyTorch's _equalize adds this to the second layer's ranges in max−min mode.</summary>
    private const double MaxMinRangeEpsilon = 1e-9;

    /// <summary>
    /// A channel whose weight range is at most this fraction of the largest channel range of its layer is dead: a real
    /// ResNet had one at 5.8e-21 (against ~0.1), which got a factor of 5.8e6 and a bias of −7.8e6. Genuine small channels
    /// that equalization is meant to lift sit at 1e-3..1e-5 of the largest, far above this.
    /// </summary>
    public const double DeadChannelRelativeRange = 1e-8;

    /// <summary>The bounds on any one equalization factor: beyond them float32 weights and biases lose their precision.</summary>
    public const double MinFactor = 1e-8;

    public const double MaxFactor = 1e8;

    private readonly EqualizationOptions _options = options ?? new EqualizationOptions();

    public override string Name => "equalize-cross-layer";

    protected override EqualizeReport Apply(Graph graph)
    {
        var clock = Stopwatch.StartNew();
        var discovery = EqualizationSetFinder.Find(graph, _options.Relu6);
        var changes = new List<string>();
        var work = discovery.Sets.Select(s => PrepareSet(graph, s, changes)).ToList();
        var ledger = new ScaleLedger();
        var chained = work.SelectMany(w => w.Layers).GroupBy(l => l.Node).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet();
        foreach (var w in work.Where(w => w.Layers.Any(l => chained.Contains(l.Node))))
        {
            foreach (var layer in w.Layers)
            {
                ledger.Track(layer);
            }
            foreach (var bound in w.Links.SelectMany(l => l.Bounds))
            {
                ledger.TrackBound(bound);
            }
        }
        var before = work.Select(w => w.Layers.Select(l => Spread(l.OutputRanges(RangeMode.MaxAbs))).ToArray()).ToList();

        var sweeps = 0;
        double change = 0;
        var converged = work.Count == 0;
        var sweepChanges = new List<double>();
        var dead = new HashSet<(Node Layer, int Channel)>();
        while (!converged && sweeps < _options.MaxSweeps)
        {
            change = work.Sum(w => EqualizeOnce(w, ledger, dead));
            sweepChanges.Add(change);
            sweeps++;
            converged = change < _options.Threshold;
        }
        ledger.Apply();

        var results = work.Select((w, i) => new SetEqualization(
            w.Set,
            w.Layers.Select((l, j) => new LayerSpread(l.Node.ModuleName, before[i][j], Spread(l.OutputRanges(RangeMode.MaxAbs)))).ToArray())).ToList();
        return new EqualizeReport(discovery, results, sweeps, change, converged, clock.Elapsed, changes) { SweepChanges = sweepChanges, DeadChannels = dead.Count };
    }

    /// <summary>Largest over smallest positive channel range; 1 for a layer with fewer than two usable channels.</summary>
    public static double Spread(IReadOnlyList<double> ranges)
    {
        var usable = ranges.Where(r => r > 0 && double.IsFinite(r)).ToList();
        return usable.Count < 2 ? 1 : usable.Max() / usable.Min();
    }

    private sealed record WorkSet(EqualizationSet Set, IReadOnlyList<LinearLayer> Layers, IReadOnlyList<WorkLink> Links);

    /// <summary>A link with the per-channel clip bounds (exact ReLU6) that follow the first layer's scale.</summary>
    private sealed record WorkLink(EqualizationLink Link, IReadOnlyList<Value> Bounds)
    {
        public int Repeat => Link.Repeat;
    }

    private WorkSet PrepareSet(Graph graph, EqualizationSet set, List<string> changes)
    {
        var layers = set.Layers.Select(LinearLayer.Create).ToList();
        var links = new List<WorkLink>();
        for (var i = 0; i < set.Links.Count; i++)
        {
            var bounds = new List<Value>();
            foreach (var clip in set.Links[i].Between.Where(n => n.OpType == "Clip").ToList())
            {
                var (min, max) = EqualizationSetFinder.ClipBounds(clip);
                if (min == 0 && float.IsPositiveInfinity(max))
                {
                    continue;
                }
                bounds.AddRange(RewriteRelu6(graph, clip, max, layers[i], changes));
            }
            links.Add(new WorkLink(set.Links[i], bounds));
        }
        return new WorkSet(set, layers, links);
    }

    private IEnumerable<Value> RewriteRelu6(Graph graph, Node clip, float max, LinearLayer feeding, List<string> changes)
    {
        var relu = graph.AddNode("Relu", [clip.Input(0)], moduleName: clip.ModuleName + ".relu", after: clip);
        relu.Output.ElementType = clip.Output.ElementType;
        relu.Output.Shape = clip.Output.Shape;
        if (_options.Relu6 == Relu6Mode.Replace)
        {
            graph.ReplaceAllUsesWith(clip.Output, relu.Output);
            graph.RemoveNode(clip);
            changes.Add($"replaced Clip(0, {max}) '{clip.ModuleName}' by Relu: the float model changes where activations exceed {max}");
            yield break;
        }
        // Exact: min(relu(x), bound_c) with a per-channel bound that equalization rescales along with channel c.
        var rank = feeding.Node.OpType is "Conv" or "ConvTranspose" ? feeding.Weight.Rank : 2;
        var shape = new long[rank - 1];
        Array.Fill(shape, 1L);
        shape[0] = feeding.OutChannels;
        var bound = graph.AddConstant(clip.ModuleName + ".bound", Tensor.FromFloats(Enumerable.Repeat(max, feeding.OutChannels).ToArray(), shape));
        var min = graph.AddNode("Min", [relu.Output, bound], moduleName: clip.ModuleName + ".min", after: relu);
        min.Output.ElementType = clip.Output.ElementType;
        min.Output.Shape = clip.Output.Shape;
        graph.ReplaceAllUsesWith(clip.Output, min.Output);
        graph.RemoveNode(clip);
        changes.Add($"rewrote Clip(0, {max}) '{clip.ModuleName}' as Relu and a per-channel Min (exact)");
        yield return bound;
    }

    /// <summary>One equalization step on one set; returns the Frobenius norm of the weight change.</summary>
    private double EqualizeOnce(WorkSet set, ScaleLedger ledger, HashSet<(Node, int)> dead) =>
        set.Layers.Count == 3 ? EqualizeTriple(set, ledger, dead) : EqualizePair(set.Layers[0], set.Layers[1], set.Links[0], ledger, dead);

    /// <summary>Channels whose range is at most <see cref="DeadChannelRelativeRange"/> of the largest finite range (zero included).</summary>
    private static bool[] Dead(double[] ranges)
    {
        var largest = ranges.Where(double.IsFinite).DefaultIfEmpty(0).Max();
        return ranges.Select(r => r <= largest * DeadChannelRelativeRange).ToArray();
    }

    private double EqualizePair(LinearLayer first, LinearLayer second, WorkLink link, ScaleLedger ledger, HashSet<(Node, int)> dead)
    {
        var stats1 = first.Stats(byOutput: true);
        var stats2 = second.Stats(byOutput: false);
        var r1 = stats1.Ranges(_options.Ranges);
        var r2 = Grouped(stats2.Ranges(_options.Ranges), link.Repeat);
        var scale = new double[r1.Length];
        var (dead1, dead2) = (Dead(r1), Dead(r2));
        for (var c = 0; c < scale.Length; c++)
        {
            if (dead1[c] || dead2[c])
            {
                scale[c] = 1;
                dead.Add((first.Node, c));
                continue;
            }
            var denominator = _options.Ranges == RangeMode.MaxMin ? r2[c] + MaxMinRangeEpsilon : r2[c];
            scale[c] = SafeFactor(Math.Sqrt(r1[c] / denominator));
        }
        return ScaleBetween(first, second, link, scale, stats1.SquaredNorms, stats2.SquaredNorms, ledger);
    }

    private double EqualizeTriple(WorkSet set, ScaleLedger ledger, HashSet<(Node, int)> dead)
    {
        var (l1, dw, l3) = (set.Layers[0], set.Layers[1], set.Layers[2]);
        var stats1 = l1.Stats(byOutput: true);
        // A depthwise layer's input channel c is its output channel c: one set of statistics serves both sides.
        var stats2 = dw.Stats(byOutput: true);
        var stats3 = l3.Stats(byOutput: false);
        var r1 = stats1.Ranges(_options.Ranges);
        var r2 = stats2.Ranges(_options.Ranges);
        var r3 = Grouped(stats3.Ranges(_options.Ranges), set.Links[1].Repeat);
        var s1 = new double[r1.Length];
        var s2 = new double[r1.Length];
        var (dead1, dead2, dead3) = (Dead(r1), Dead(r2), Dead(r3));
        for (var c = 0; c < r1.Length; c++)
        {
            if (dead1[c] || dead2[c] || dead3[c])
            {
                s1[c] = s2[c] = 1;
                dead.Add((l1.Node, c));
                continue;
            }
            // All three ranges become t = ∛(r1·r2·r3): r1/s1 = r2·s1/s2 = r3·s2 = t.
            var t = Math.Cbrt(r1[c] * r2[c] * r3[c]);
            s1[c] = SafeFactor(r1[c] / t);
            s2[c] = SafeFactor(t / r3[c]);
            if (s1[c] == 1 || s2[c] == 1)
            {
                s1[c] = s2[c] = 1;
            }
        }
        var change = ScaleBetween(l1, dw, set.Links[0], s1, stats1.SquaredNorms, stats2.SquaredNorms, ledger);
        // The depthwise weights changed in the first step; their norms are read again for the second.
        return change + ScaleBetween(dw, l3, set.Links[1], s2, dw.Stats(byOutput: true).SquaredNorms, stats3.SquaredNorms, ledger);
    }

    /// <summary>Divides the outputs of <paramref name="first"/> by s and multiplies the matching inputs of <paramref name="second"/> by s.</summary>
    private static double ScaleBetween(LinearLayer first, LinearLayer second, WorkLink link, double[] scale, double[] norms1, double[] inputNorms2, ScaleLedger ledger)
    {
        var norms2 = Grouped(inputNorms2, link.Repeat, sum: true);
        double change1 = 0, change2 = 0;
        for (var c = 0; c < scale.Length; c++)
        {
            change1 += Math.Pow(1 / scale[c] - 1, 2) * norms1[c];
            change2 += Math.Pow(scale[c] - 1, 2) * norms2[c];
        }
        if (change1 == 0 && change2 == 0)
        {
            return 0;
        }
        var inverse = scale.Select(s => 1 / s).ToArray();
        var expanded = link.Link.ExpandToInputs(scale);
        first.ScaleOutputChannels(inverse);
        second.ScaleInputChannels(expanded);
        ledger.ScaledOutputs(first, inverse);
        ledger.ScaledInputs(second, expanded);
        foreach (var bound in link.Bounds)
        {
            var b = bound.ConstantValue!.ToArray<float>();
            for (var c = 0; c < b.Length; c++)
            {
                b[c] = (float)(b[c] * inverse[c]);
            }
            bound.Owner.SetConstantValue(bound, Tensor.FromFloats(b, bound.ConstantValue.Shape.ToArray()));
            ledger.ScaledBound(bound, inverse);
        }
        return Math.Sqrt(change1) + Math.Sqrt(change2);
    }

    private static double SafeFactor(double s) => double.IsFinite(s) && s > 0 ? Math.Clamp(s, MinFactor, MaxFactor) : 1;

    /// <summary>Combines the ranges of the <paramref name="repeat"/> inputs that one channel feeds (max, or sum for norms).</summary>
    private static double[] Grouped(double[] values, int repeat, bool sum = false)
    {
        if (repeat == 1)
        {
            return values;
        }
        var grouped = new double[values.Length / repeat];
        for (var c = 0; c < grouped.Length; c++)
        {
            var slice = values.AsSpan(c * repeat, repeat);
            // TensorPrimitives.Max propagates NaN, so a channel with a NaN range stays unscaled.
            grouped[c] = sum ? TensorPrimitives.Sum<double>(slice) : TensorPrimitives.Max<double>(slice);
        }
        return grouped;
    }
}
