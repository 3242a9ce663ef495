using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;

namespace SharpQuant.Tests.Support;

/// <summary>The activation after a conv (or after its BatchNormalization).</summary>
public enum ActivationKind
{
    /// <summary>No node at all.</summary>
    None,
    Identity,
    Relu,
    LeakyRelu,

    /// <summary>PRelu with a per-channel slope constant of shape [C, 1, 1], all slopes positive.</summary>
    PRelu,

    /// <summary>Clip(0, 6) with min and max as scalar constant inputs (opset 13).</summary>
    Clip,
}

/// <summary>A pooling op after a block (2x2 window, stride 2).</summary>
public enum PoolKind
{
    None,
    MaxPool,
    AveragePool,
}

/// <summary>Conv padding in ONNX order: [top, left, bottom, right] (x1_begin, x2_begin, x1_end, x2_end).</summary>
public readonly record struct ConvPads(int Top, int Left, int Bottom, int Right)
{
    public static ConvPads Zero => new(0, 0, 0, 0);

    public static ConvPads Same(int p) => new(p, p, p, p);

    public long[] ToOnnx() => [Top, Left, Bottom, Right];

    public override string ToString() => $"[{Top},{Left},{Bottom},{Right}]";
}

/// <summary>A channel count and spatial size of a feature map (the batch is always <see cref="RandomConvNets.Batch"/>).</summary>
public readonly record struct FeatureShape(int Channels, int Height, int Width)
{
    public override string ToString() => $"[{Channels},{Height},{Width}]";
}

/// <summary>
/// One conv layer: Conv (with an optional bias input), then an optional BatchNormalization, then an activation.
/// <see cref="Alpha"/> is LeakyRelu's slope (0 for other activations).
/// </summary>
public sealed record ConvSpec(
    int OutChannels,
    int Kernel,
    int Stride,
    int Dilation,
    ConvPads Pads,
    int Group,
    bool Bias,
    bool BatchNorm,
    ActivationKind Activation,
    float Alpha = 0f)
{
    public int EffectiveKernel => Dilation * (Kernel - 1) + 1;

    /// <summary>True when every output channel sees exactly one input channel of its own (group = in = out &gt; 1).</summary>
    public bool IsDepthwiseFor(int inChannels) => Group > 1 && Group == inChannels && OutChannels == inChannels;

    /// <summary>The output shape for <paramref name="input"/>, or null when this layer cannot read it.</summary>
    public FeatureShape? Apply(FeatureShape input)
    {
        if (Group < 1 || OutChannels < 1 || Kernel < 1 || Stride < 1 || Dilation < 1
            || input.Channels % Group != 0 || OutChannels % Group != 0
            || Pads.Top < 0 || Pads.Left < 0 || Pads.Bottom < 0 || Pads.Right < 0)
        {
            return null;
        }
        var h = OutSize(input.Height, Pads.Top, Pads.Bottom);
        var w = OutSize(input.Width, Pads.Left, Pads.Right);
        return h < 1 || w < 1 ? null : new FeatureShape(OutChannels, h, w);
    }

    /// <summary>The output size along one axis; 0 when there is no output or some window reads only padding.</summary>
    private int OutSize(int size, int padBegin, int padEnd)
    {
        var span = size + padBegin + padEnd - EffectiveKernel;
        if (span < 0)
        {
            return 0;
        }
        var outSize = span / Stride + 1;
        for (var o = 0; o < outSize; o++)
        {
            // An output whose every tap falls in the padding would be the bias alone: a degenerate net.
            var seesInput = false;
            for (var t = 0; t < Kernel && !seesInput; t++)
            {
                var position = o * Stride + t * Dilation - padBegin;
                seesInput = position >= 0 && position < size;
            }
            if (!seesInput)
            {
                return 0;
            }
        }
        return outSize;
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"conv(out {OutChannels}, k{Kernel}, s{Stride}");
        if (Dilation != 1)
        {
            sb.Append(CultureInfo.InvariantCulture, $", d{Dilation}");
        }
        if (Pads != ConvPads.Zero)
        {
            sb.Append(CultureInfo.InvariantCulture, $", pads {Pads}");
        }
        if (Group != 1)
        {
            sb.Append(CultureInfo.InvariantCulture, $", g{Group}");
        }
        if (Bias)
        {
            sb.Append(", bias");
        }
        sb.Append(')');
        if (BatchNorm)
        {
            sb.Append("+bn");
        }
        sb.Append(Activation switch
        {
            ActivationKind.None => "",
            ActivationKind.LeakyRelu => "+leakyrelu(" + Alpha.ToString("0.###", CultureInfo.InvariantCulture) + ")",
            ActivationKind.Clip => "+clip(0,6)",
            var a => "+" + a.ToString().ToLowerInvariant(),
        });
        return sb.ToString();
    }
}

/// <summary>A block of the network; <see cref="Pool"/> is an optional pooling op after it.</summary>
public abstract record BlockSpec
{
    public PoolKind Pool { get; init; }

    /// <summary>The block's convs in build order.</summary>
    public abstract IReadOnlyList<ConvSpec> Convs { get; }

    /// <summary>The output shape (after the pool), or null when the block cannot read <paramref name="input"/>.</summary>
    public FeatureShape? Apply(FeatureShape input)
    {
        var body = ApplyBody(input);
        if (body is not { } s || Pool == PoolKind.None)
        {
            return body;
        }
        // Pool only while the result keeps at least 2x2.
        return s.Height >= 4 && s.Width >= 4 ? new FeatureShape(s.Channels, s.Height / 2, s.Width / 2) : null;
    }

    protected abstract FeatureShape? ApplyBody(FeatureShape input);

    protected string PoolSuffix => Pool switch
    {
        PoolKind.MaxPool => " → maxpool2",
        PoolKind.AveragePool => " → avgpool2",
        _ => "",
    };
}

/// <summary>A single conv layer (plain, grouped or depthwise).</summary>
public sealed record ConvBlockSpec(ConvSpec Conv) : BlockSpec
{
    public override IReadOnlyList<ConvSpec> Convs => [Conv];

    protected override FeatureShape? ApplyBody(FeatureShape input) => Conv.Apply(input);

    public override string ToString() => Conv + PoolSuffix;
}

/// <summary>1x1 expand conv → depthwise conv (group = its channels) → 1x1 project conv.</summary>
public sealed record SeparableBlockSpec(ConvSpec Expand, ConvSpec Depthwise, ConvSpec Project) : BlockSpec
{
    public override IReadOnlyList<ConvSpec> Convs => [Expand, Depthwise, Project];

    protected override FeatureShape? ApplyBody(FeatureShape input)
    {
        if (Expand.Kernel != 1 || Project.Kernel != 1 || Depthwise.Group != Expand.OutChannels || Depthwise.OutChannels != Expand.OutChannels)
        {
            return null;
        }
        return Expand.Apply(input) is { } a && Depthwise.Apply(a) is { } b ? Project.Apply(b) : null;
    }

    public override string ToString() => $"separable[{Expand} → {Depthwise} → {Project}]{PoolSuffix}";
}

/// <summary>Two 3x3 convs (pad 1, stride 1, same channels), Add of the block input, then Relu.</summary>
public sealed record ResidualBlockSpec(ConvSpec Conv1, ConvSpec Conv2) : BlockSpec
{
    public override IReadOnlyList<ConvSpec> Convs => [Conv1, Conv2];

    protected override FeatureShape? ApplyBody(FeatureShape input)
    {
        // The identity shortcut needs both convs to keep the shape.
        return Conv1.Apply(input) is { } a && a == input && Conv2.Apply(a) is { } b && b == input ? b : null;
    }

    public override string ToString() => $"residual[{Conv1} → {Conv2} → add → relu]{PoolSuffix}";
}

/// <summary>
/// The classifier head: GlobalAveragePool (optional) → Flatten → Gemm (weight [Outputs, features], transB = 1, bias).
/// </summary>
public sealed record HeadSpec(bool GlobalPool, int Outputs)
{
    public override string ToString() => (GlobalPool ? "gap → " : "") + $"flatten → gemm({Outputs})";
}

/// <summary>
/// A small random CNN: input [2, Channels, Height, Width], blocks in order, an optional head. With
/// <see cref="ZeroChannel"/>, one output channel of one conv (picked from the build seed; see
/// <see cref="RandomConvNets.ZeroedChannel"/>) has all-zero weights and bias.
/// </summary>
public sealed record ConvNetSpec(int Channels, int Height, int Width, IReadOnlyList<BlockSpec> Blocks, HeadSpec? Head, bool ZeroChannel)
{
    public FeatureShape InputShape => new(Channels, Height, Width);

    public IEnumerable<ConvSpec> Convs => Blocks.SelectMany(b => b.Convs);

    public int ConvCount => Blocks.Sum(b => b.Convs.Count);

    /// <summary>The feature shape after each block, or null when some block cannot read its input.</summary>
    public IReadOnlyList<FeatureShape>? BlockShapes()
    {
        if (Channels < 1 || Height < 1 || Width < 1 || Blocks.Count == 0 || Head is { Outputs: < 1 })
        {
            return null;
        }
        var shapes = new List<FeatureShape>(Blocks.Count);
        var s = InputShape;
        foreach (var block in Blocks)
        {
            if (block.Apply(s) is not { } next)
            {
                return null;
            }
            shapes.Add(s = next);
        }
        return shapes;
    }

    public bool IsValid => BlockShapes() is not null;

    /// <summary>The shape of the graph output: [2, Outputs] with a head, else [2, C, H, W].</summary>
    public long[] OutputShape
    {
        get
        {
            var last = (BlockShapes() ?? throw new InvalidOperationException("invalid spec: " + this))[^1];
            return Head is { } head ? [RandomConvNets.Batch, head.Outputs] : [RandomConvNets.Batch, last.Channels, last.Height, last.Width];
        }
    }

    public bool Equals(ConvNetSpec? other) =>
        other is not null && Channels == other.Channels && Height == other.Height && Width == other.Width
        && Head == other.Head && ZeroChannel == other.ZeroChannel && Blocks.SequenceEqual(other.Blocks);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Channels);
        hash.Add(Height);
        hash.Add(Width);
        hash.Add(Head);
        hash.Add(ZeroChannel);
        foreach (var b in Blocks)
        {
            hash.Add(b);
        }
        return hash.ToHashCode();
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"ConvNet(input [{RandomConvNets.Batch},{Channels},{Height},{Width}]");
        if (ZeroChannel)
        {
            sb.Append(", zero channel");
        }
        sb.Append(')');
        var shapes = BlockShapes();
        for (var i = 0; i < Blocks.Count; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"\n  {i}: {Blocks[i]}");
            if (shapes is not null)
            {
                sb.Append(CultureInfo.InvariantCulture, $" ⇒ {shapes[i]}");
            }
        }
        if (shapes is null)
        {
            sb.Append("\n  (invalid: some block cannot read its input)");
        }
        sb.Append("\n  head: ").Append(Head?.ToString() ?? "none");
        return sb.ToString();
    }
}

/// <summary>
/// Random small CNNs for property tests of float-preserving passes (BatchNorm folding, cross-layer
/// equalization, bias absorption): an FsCheck generator of <see cref="ConvNetSpec"/>s that are valid by
/// construction, and <see cref="Build"/>, which makes the graph with deterministic weights from a seed.
/// </summary>
public static class RandomConvNets
{
    public const int Batch = 2;
    public const int Opset = 13;

    // ---------------------------------------------------------------- generators

    /// <summary>Specs with 2–6 blocks on an input [2, 1..4, 6..12, 6..12]; every one builds and runs.</summary>
    public static Gen<ConvNetSpec> Specs() =>
        from c in Gen.Choose(1, 4)
        from h in Gen.Choose(6, 12)
        from w in Gen.Choose(6, 12)
        from count in Gen.Choose(2, 6)
        from blocks in BlocksFrom(count, new FeatureShape(c, h, w))
        from head in HeadGen()
        from zero in Gen.Frequency((4, Gen.Constant(false)), (1, Gen.Constant(true)))
        select new ConvNetSpec(c, h, w, blocks, head, zero);

    /// <summary>The generator with a shrinker that drops blocks, pools, the head and features while the spec stays valid.</summary>
    public static Arbitrary<ConvNetSpec> Arbitrary() => Arb.From(Specs(), Shrink);

    private static Gen<IReadOnlyList<BlockSpec>> BlocksFrom(int count, FeatureShape input)
    {
        if (count == 0)
        {
            return Gen.Constant<IReadOnlyList<BlockSpec>>([]);
        }
        return BlockGen(input).SelectMany(block =>
            BlocksFrom(count - 1, block.Apply(input)!.Value).Select(rest => Prepend(block, rest)));
    }

    private static IReadOnlyList<BlockSpec> Prepend(BlockSpec first, IReadOnlyList<BlockSpec> rest) => [first, .. rest];

    private static Gen<BlockSpec> BlockGen(FeatureShape input)
    {
        var body = Gen.Frequency(
            (3, PlainConvBlock(input)),
            (2, SeparableBlockGen(input)),
            (2, ResidualBlockGen(input)));
        return body.SelectMany(block =>
        {
            var s = block.Apply(input)!.Value;
            var pool = s.Height >= 4 && s.Width >= 4
                ? Gen.Frequency((4, Gen.Constant(PoolKind.None)), (1, Gen.Constant(PoolKind.MaxPool)), (1, Gen.Constant(PoolKind.AveragePool)))
                : Gen.Constant(PoolKind.None);
            return pool.Select(p => block with { Pool = p });
        });
    }

    private static Gen<BlockSpec> PlainConvBlock(FeatureShape input)
    {
        var depthwise = input.Channels > 1
            ? Gen.Constant((Out: input.Channels, Group: input.Channels))
            : Gen.Constant((Out: 1, Group: 1));
        var general =
            from o in Gen.Choose(1, 6)
            from g in Gen.Elements(Divisors(Gcd(input.Channels, o)))
            select (Out: o, Group: g);
        var channels = Gen.Frequency((1, depthwise), (3, general));
        return (
            from ch in channels
            from geometry in Geometry(input, maxKernel: 3)
            from bias in Bool(1, 1)
            from bn in Bool(2, 1)
            from act in ActivationGen()
            select (BlockSpec)new ConvBlockSpec(new ConvSpec(ch.Out, geometry.Kernel, geometry.Stride, geometry.Dilation, geometry.Pads, ch.Group, bias, bn, act.Kind, act.Alpha)))
            .Where(b => b.Apply(input) is not null);
    }

    private static Gen<BlockSpec> SeparableBlockGen(FeatureShape input) =>
        (
            from e in Gen.Choose(1, 6)
            from expand in PointwiseConv(e)
            from geometry in Geometry(input, maxKernel: 3)
            from dwBias in Bool(1, 1)
            from dwBn in Bool(2, 1)
            from dwRelu in Bool(2, 1)
            from o in Gen.Choose(1, 6)
            from project in PointwiseConv(o)
            select (BlockSpec)new SeparableBlockSpec(
                expand,
                new ConvSpec(e, geometry.Kernel, geometry.Stride, geometry.Dilation, geometry.Pads, e, dwBias, dwBn, dwRelu ? ActivationKind.Relu : ActivationKind.None),
                project))
        .Where(b => b.Apply(input) is not null);

    private static Gen<ConvSpec> PointwiseConv(int outChannels) =>
        from bias in Bool(1, 1)
        from bn in Bool(2, 1)
        from relu in Bool(1, 1)
        select new ConvSpec(outChannels, 1, 1, 1, ConvPads.Zero, 1, bias, bn, relu ? ActivationKind.Relu : ActivationKind.None);

    private static Gen<BlockSpec> ResidualBlockGen(FeatureShape input) =>
        from bias1 in Bool(1, 1)
        from bn1 in Bool(2, 1)
        from bias2 in Bool(1, 1)
        from bn2 in Bool(2, 1)
        select (BlockSpec)new ResidualBlockSpec(
            new ConvSpec(input.Channels, 3, 1, 1, ConvPads.Same(1), 1, bias1, bn1, ActivationKind.Relu),
            new ConvSpec(input.Channels, 3, 1, 1, ConvPads.Same(1), 1, bias2, bn2, ActivationKind.None));

    private static Gen<(int Kernel, int Stride, int Dilation, ConvPads Pads)> Geometry(FeatureShape input, int maxKernel) =>
        from k in Gen.Choose(1, maxKernel)
        from d in k > 1 ? Gen.Frequency((3, Gen.Constant(1)), (1, Gen.Constant(2))) : Gen.Constant(1)
        from s in Math.Min(input.Height, input.Width) >= 5 ? Gen.Choose(1, 2) : Gen.Constant(1)
        let maxPad = Math.Min(2, d * (k - 1))
        from pads in Gen.Frequency(
            (2, Gen.Constant(ConvPads.Same(maxPad / 2 + maxPad % 2))),
            (2, from t in Gen.Choose(0, maxPad)
                from l in Gen.Choose(0, maxPad)
                from b in Gen.Choose(0, maxPad)
                from r in Gen.Choose(0, maxPad)
                select new ConvPads(t, l, b, r)))
        select (k, s, d, pads);

    private static Gen<(ActivationKind Kind, float Alpha)> ActivationGen() =>
        Gen.Frequency(
            (2, Gen.Constant((ActivationKind.None, 0f))),
            (1, Gen.Constant((ActivationKind.Identity, 0f))),
            (3, Gen.Constant((ActivationKind.Relu, 0f))),
            (2, Gen.Choose(1, 30).Select(a => (ActivationKind.LeakyRelu, a / 100f))),
            (2, Gen.Constant((ActivationKind.PRelu, 0f))),
            (2, Gen.Constant((ActivationKind.Clip, 0f))));

    private static Gen<HeadSpec?> HeadGen() =>
        Gen.Frequency(
            (3, Gen.Choose(2, 5).Select(o => (HeadSpec?)new HeadSpec(true, o))),
            (1, Gen.Choose(2, 5).Select(o => (HeadSpec?)new HeadSpec(false, o))),
            (1, Gen.Constant<HeadSpec?>(null)));

    private static Gen<bool> Bool(int trueWeight, int falseWeight) =>
        Gen.Frequency((trueWeight, Gen.Constant(true)), (falseWeight, Gen.Constant(false)));

    private static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);

    private static int[] Divisors(int n) => Enumerable.Range(1, n).Where(d => n % d == 0).ToArray();

    // ---------------------------------------------------------------- shrinking

    /// <summary>Simpler valid specs: fewer blocks, no zero channel, no head, no pools, fewer BN/activation/bias.</summary>
    public static IEnumerable<ConvNetSpec> Shrink(ConvNetSpec spec) => ShrinkCandidates(spec).Where(s => s.IsValid).Distinct();

    private static IEnumerable<ConvNetSpec> ShrinkCandidates(ConvNetSpec spec)
    {
        if (spec.ZeroChannel)
        {
            yield return spec with { ZeroChannel = false };
        }
        for (var i = 0; i < spec.Blocks.Count && spec.Blocks.Count > 1; i++)
        {
            yield return spec with { Blocks = [.. spec.Blocks.Take(i), .. spec.Blocks.Skip(i + 1)] };
        }
        if (spec.Head is { } head)
        {
            yield return spec with { Head = null };
            if (!head.GlobalPool)
            {
                yield return spec with { Head = head with { GlobalPool = true } };
            }
            if (head.Outputs > 2)
            {
                yield return spec with { Head = head with { Outputs = 2 } };
            }
        }
        for (var i = 0; i < spec.Blocks.Count; i++)
        {
            foreach (var simpler in SimplerBlocks(spec.Blocks[i]))
            {
                var blocks = spec.Blocks.ToArray();
                blocks[i] = simpler;
                yield return spec with { Blocks = blocks };
            }
        }
    }

    private static IEnumerable<BlockSpec> SimplerBlocks(BlockSpec block)
    {
        if (block.Pool != PoolKind.None)
        {
            yield return block with { Pool = PoolKind.None };
        }
        switch (block)
        {
            case ConvBlockSpec c:
                foreach (var s in SimplerConvs(c.Conv))
                {
                    yield return c with { Conv = s };
                }
                break;
            case SeparableBlockSpec s:
                foreach (var e in SimplerConvs(s.Expand))
                {
                    yield return s with { Expand = e };
                }
                foreach (var d in SimplerConvs(s.Depthwise))
                {
                    yield return s with { Depthwise = d };
                }
                foreach (var p in SimplerConvs(s.Project))
                {
                    yield return s with { Project = p };
                }
                break;
            case ResidualBlockSpec r:
                foreach (var c1 in SimplerConvs(r.Conv1).Where(c => c.Activation == ActivationKind.Relu))
                {
                    yield return r with { Conv1 = c1 };
                }
                foreach (var c2 in SimplerConvs(r.Conv2))
                {
                    yield return r with { Conv2 = c2 };
                }
                break;
        }
    }

    private static IEnumerable<ConvSpec> SimplerConvs(ConvSpec conv)
    {
        if (conv.Activation is not (ActivationKind.None or ActivationKind.Relu))
        {
            yield return conv with { Activation = ActivationKind.Relu, Alpha = 0f };
        }
        if (conv.BatchNorm)
        {
            yield return conv with { BatchNorm = false };
        }
        if (conv.Bias)
        {
            yield return conv with { Bias = false };
        }
        if (conv.Dilation > 1)
        {
            yield return conv with { Dilation = 1 };
        }
        if (conv.Pads != ConvPads.Zero)
        {
            yield return conv with { Pads = ConvPads.Zero };
        }
    }

    // ---------------------------------------------------------------- building

    /// <summary>A deterministic input [2, C, H, W] of standard-normal values.</summary>
    public static Tensor Input(ConvNetSpec spec, int seed)
    {
        var random = new Random(unchecked(seed * 7919 + 17));
        var data = new float[Batch * spec.Channels * spec.Height * spec.Width];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)Normal(random);
        }
        return Tensor.FromFloats(data, Batch, spec.Channels, spec.Height, spec.Width);
    }

    /// <summary>
    /// Where <see cref="ConvNetSpec.ZeroChannel"/> puts its zero channel for this seed: the index of the conv among the
    /// graph's Conv nodes in order, and the output channel. Null when the spec has no zero channel.
    /// </summary>
    public static (int ConvIndex, int Channel)? ZeroedChannel(ConvNetSpec spec, int seed)
    {
        if (!spec.ZeroChannel)
        {
            return null;
        }
        // A stream of its own, so the flag changes nothing but that one channel. Convs with several output channels
        // come first: zeroing the only channel of a layer would cut the output off from the input.
        var picker = new Random(unchecked(seed * 31 + 7));
        var convs = spec.Convs.ToList();
        var candidates = Enumerable.Range(0, convs.Count).Where(i => convs[i].OutChannels > 1).ToList();
        if (candidates.Count == 0)
        {
            candidates = Enumerable.Range(0, convs.Count).ToList();
        }
        var convIndex = candidates[picker.Next(candidates.Count)];
        return (convIndex, picker.Next(convs[convIndex].OutChannels));
    }

    /// <summary>
    /// Builds the network of <paramref name="spec"/> with weights drawn from <paramref name="seed"/>. Conv weights are
    /// normal values with He scaling times a per-output-channel factor spread over two orders of magnitude (some
    /// channels 1000 times smaller still, never exactly zero unless the spec asks for its zero channel).
    /// BatchNormalization has gamma in ±[0.2, 2] (a quarter negative), running variance in [0.1, 2] and epsilon 1e-5.
    /// Conv biases, BatchNormalization running means and betas are drawn relative to the statistics of each channel on
    /// a calibration batch (computed with <see cref="ReferenceExecutor"/> while building), as in a trained network: the
    /// running mean lies within a standard deviation of the channel mean, and each channel's activation threshold falls
    /// between half a standard deviation above and one below its mean, so activations keep varying with the input
    /// instead of dying, and no term is much larger than the signal it helps compute (no cancellation that would
    /// make float-preserving rewrites look wrong). Channels that barely vary (the zero channel, say) get plain random
    /// offsets instead: running mean in [−1, 1], beta in [−0.5, 1], conv bias in [−0.2, 0.5]. A conv with neither bias
    /// nor BatchNorm before a Relu or Clip has the sign of each mostly negative channel flipped, and the Gemm bias is
    /// drawn on the scale of the logits' spread, for the same reasons.
    /// The result has module names assigned, every value typed and shaped, and has been validated.
    /// </summary>
    public static Graph Build(ConvNetSpec spec, int seed)
    {
        var shapes = spec.BlockShapes() ?? throw new ArgumentException("the spec is not valid:\n" + spec, nameof(spec));
        var builder = new Builder(spec, seed);
        var (x, s) = builder.AddInput();
        for (var i = 0; i < spec.Blocks.Count; i++)
        {
            (x, s) = builder.AddBlock($"blocks.{i}", spec.Blocks[i], x, s);
            if (s != shapes[i])
            {
                throw new InvalidOperationException($"block {i} built {s}, expected {shapes[i]}");
            }
        }
        if (spec.Head is { } head)
        {
            x = builder.AddHead(head, x, s);
        }
        var graph = builder.Graph;
        graph.AddOutput(x);
        ModuleNamer.Assign(graph);
        graph.Validate();
        return graph;
    }

    private static Dim[] Dims(params long[] sizes) => sizes.Select(Dim.Of).ToArray();

    /// <summary>A standard normal sample (Box–Muller).</summary>
    private static double Normal(Random random)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    private static Tensor NormalTensor(Random random, params long[] shape)
    {
        var data = new float[Shapes.ElementCount(shape)];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)Normal(random);
        }
        return Tensor.FromFloats(data, shape);
    }

    /// <summary>Mean and standard deviation of each channel of an [N, C, H, W] tensor.</summary>
    private static (double Mean, double Std)[] ChannelStats(Tensor t)
    {
        int n = (int)t.Shape[0], c = (int)t.Shape[1], hw = (int)(t.Shape[2] * t.Shape[3]);
        var data = t.Floats;
        var stats = new (double, double)[c];
        for (var ch = 0; ch < c; ch++)
        {
            double sum = 0, sumSq = 0;
            for (var b = 0; b < n; b++)
            {
                foreach (var v in data.Slice((b * c + ch) * hw, hw))
                {
                    sum += v;
                    sumSq += (double)v * v;
                }
            }
            var count = (double)n * hw;
            var mean = sum / count;
            stats[ch] = (mean, Math.Sqrt(Math.Max(0, sumSq / count - mean * mean)));
        }
        return stats;
    }

    private sealed class Builder(ConvNetSpec spec, int seed)
    {
        /// <summary>Images in the calibration batch the biases are drawn against.</summary>
        private const int CalibrationBatch = 4;

        private readonly Random _random = new(seed);
        private readonly (int ConvIndex, int Channel)? _zero = ZeroedChannel(spec, seed);

        // Each computed value on the calibration batch, evaluated as the node is added.
        private readonly Dictionary<Value, Tensor> _calibration = new(ReferenceEqualityComparer.Instance);
        private int _convIndex;

        public Graph Graph { get; } = CreateGraph();

        private static Graph CreateGraph()
        {
            var graph = new Graph();
            graph.Info.OnnxOpset = Opset;
            graph.Info.ProducerName = "SharpQuant.Tests.RandomConvNets";
            return graph;
        }

        public (Value, FeatureShape) AddInput()
        {
            var input = Graph.AddInput("input", ElementType.Float, Dims(Batch, spec.Channels, spec.Height, spec.Width));
            // A stream of its own, so the weights do not depend on the calibration batch size.
            var random = new Random(unchecked(seed * 613 + 1));
            _calibration[input] = NormalTensor(random, CalibrationBatch, spec.Channels, spec.Height, spec.Width);
            return (input, spec.InputShape);
        }

        public (Value, FeatureShape) AddBlock(string name, BlockSpec block, Value x, FeatureShape s)
        {
            switch (block)
            {
                case ConvBlockSpec c:
                    (x, s) = AddConv(name, "conv", c.Conv, x, s);
                    break;
                case SeparableBlockSpec sep:
                    (x, s) = AddConv(name, "expand", sep.Expand, x, s);
                    (x, s) = AddConv(name, "depthwise", sep.Depthwise, x, s);
                    (x, s) = AddConv(name, "project", sep.Project, x, s);
                    break;
                case ResidualBlockSpec r:
                    var shortcut = x;
                    (x, s) = AddConv(name, "conv1", r.Conv1, x, s);
                    (x, s) = AddConv(name, "conv2", r.Conv2, x, s);
                    x = Node("Add", $"{name}.add", [shortcut, x], s);
                    x = Node("Relu", $"{name}.relu", [x], s);
                    break;
                default:
                    throw new ArgumentException($"unknown block {block.GetType().Name}", nameof(block));
            }
            if (block.Pool != PoolKind.None)
            {
                s = new FeatureShape(s.Channels, s.Height / 2, s.Width / 2);
                var attributes = new Dictionary<string, AttributeValue>
                {
                    ["kernel_shape"] = AttributeValue.Of([2L, 2L]),
                    ["strides"] = AttributeValue.Of([2L, 2L]),
                };
                x = block.Pool == PoolKind.MaxPool
                    ? Node("MaxPool", $"{name}.maxpool", [x], s, attributes)
                    : Node("AveragePool", $"{name}.avgpool", [x], s, attributes);
            }
            return (x, s);
        }

        private (Value, FeatureShape) AddConv(string block, string layer, ConvSpec conv, Value x, FeatureShape s)
        {
            var name = $"{block}.{layer}";
            var output = conv.Apply(s) ?? throw new InvalidOperationException($"{name}: {conv} cannot read {s}");
            var inPerGroup = s.Channels / conv.Group;
            var weight = ConvWeight(conv.OutChannels, inPerGroup, conv.Kernel);
            var zeroChannel = _zero is { } zero && zero.ConvIndex == _convIndex ? zero.Channel : -1;
            _convIndex++;
            if (zeroChannel >= 0)
            {
                var perChannel = inPerGroup * conv.Kernel * conv.Kernel;
                weight.Floats.Slice(zeroChannel * perChannel, perChannel).Clear();
            }
            var attributes = new Dictionary<string, AttributeValue>
            {
                ["kernel_shape"] = AttributeValue.Of([(long)conv.Kernel, conv.Kernel]),
                ["strides"] = AttributeValue.Of([(long)conv.Stride, conv.Stride]),
                ["dilations"] = AttributeValue.Of([(long)conv.Dilation, conv.Dilation]),
                ["pads"] = AttributeValue.Of(conv.Pads.ToOnnx()),
                ["group"] = AttributeValue.Of((long)conv.Group),
            };
            x = Node("Conv", name, [x, Graph.AddConstant($"{name}.weight", weight)], output, attributes);
            var c = conv.OutChannels;
            if (!conv.Bias && !conv.BatchNorm && conv.Activation is ActivationKind.Relu or ActivationKind.Clip)
            {
                // Nothing will center this channel before the activation: where it is mostly negative, flip the sign of
                // its weights (as likely a draw) so that the activation keeps the bulk of it rather than a thin tail.
                // A net whose output is the small remainder of much larger values is ill-conditioned: rewrites that
                // preserve it exactly in real numbers would still change it visibly in floats.
                var raw = _calibration[x];
                var perChannel = (int)(weight.ElementCount / c);
                var hw = output.Height * output.Width;
                var flipped = false;
                for (var i = 0; i < c; i++)
                {
                    var positive = 0;
                    for (var b = 0; b < CalibrationBatch; b++)
                    {
                        foreach (var v in raw.Floats.Slice((b * c + i) * hw, hw))
                        {
                            positive += v > 0 ? 1 : 0;
                        }
                    }
                    if (positive * 2 < CalibrationBatch * hw)
                    {
                        foreach (ref var w in weight.Floats.Slice(i * perChannel, perChannel))
                        {
                            w = -w;
                        }
                        flipped = true;
                    }
                }
                if (flipped)
                {
                    Evaluate(x.Producer!);
                }
            }
            if (conv.Bias)
            {
                // Added after the node is evaluated without it: the bias centers each channel's threshold.
                var stats = ChannelStats(_calibration[x]);
                var bias = new float[c];
                for (var i = 0; i < c; i++)
                {
                    bias[i] = i == zeroChannel ? 0f
                        : CanCenter(stats[i]) ? (float)(-stats[i].Mean + Threshold() * stats[i].Std)
                        : Uniform(-0.2f, 0.5f);
                }
                x.Producer!.AddInput(Graph.AddConstant($"{name}.bias", Tensor.FromFloats(bias, c)));
                Evaluate(x.Producer);
            }
            if (conv.BatchNorm)
            {
                var stats = ChannelStats(_calibration[x]);
                var gamma = new float[c];
                var beta = new float[c];
                var mean = new float[c];
                var variance = new float[c];
                for (var i = 0; i < c; i++)
                {
                    var magnitude = Uniform(0.2f, 2f);
                    gamma[i] = _random.NextDouble() < 0.25 ? -magnitude : magnitude;
                    variance[i] = Uniform(0.1f, 2f);
                    var (m, sd) = stats[i];
                    if (CanCenter(stats[i]))
                    {
                        // y = γ(x − μ)/σ + β with μ within a standard deviation of the channel mean m, and β such that
                        // y > 0 where ±(x − m)/sd > −t: every term is of the size of the signal, so nothing cancels.
                        mean[i] = (float)(m + Uniform(-1f, 1f) * sd);
                        beta[i] = (float)((gamma[i] * (mean[i] - m) + Threshold() * Math.Abs(gamma[i]) * sd) / Math.Sqrt(variance[i] + 1e-5));
                    }
                    else
                    {
                        mean[i] = Uniform(-1f, 1f);
                        beta[i] = Uniform(-0.5f, 1f);
                    }
                }
                x = Node("BatchNormalization", $"{name}_bn",
                    [
                        x,
                        Graph.AddConstant($"{name}_bn.weight", Tensor.FromFloats(gamma, c)),
                        Graph.AddConstant($"{name}_bn.bias", Tensor.FromFloats(beta, c)),
                        Graph.AddConstant($"{name}_bn.running_mean", Tensor.FromFloats(mean, c)),
                        Graph.AddConstant($"{name}_bn.running_var", Tensor.FromFloats(variance, c)),
                    ],
                    output,
                    new Dictionary<string, AttributeValue> { ["epsilon"] = AttributeValue.Of(1e-5f) });
            }
            x = conv.Activation switch
            {
                ActivationKind.None => x,
                ActivationKind.Identity => Node("Identity", $"{name}_identity", [x], output),
                ActivationKind.Relu => Node("Relu", $"{name}_relu", [x], output),
                ActivationKind.LeakyRelu => Node("LeakyRelu", $"{name}_leakyrelu", [x], output,
                    new Dictionary<string, AttributeValue> { ["alpha"] = AttributeValue.Of(conv.Alpha) }),
                ActivationKind.PRelu => Node("PRelu", $"{name}_prelu",
                    [x, Graph.AddConstant($"{name}_prelu.slope", Tensor.FromFloats(Uniforms(c, 0.05f, 0.5f), c, 1, 1))], output),
                ActivationKind.Clip => Node("Clip", $"{name}_clip",
                    [x, Graph.AddConstant($"{name}_clip.min", Tensor.Scalar(0f)), Graph.AddConstant($"{name}_clip.max", Tensor.Scalar(6f))], output),
                _ => throw new ArgumentException($"unknown activation {conv.Activation}", nameof(conv)),
            };
            return (x, output);
        }

        /// <summary>
        /// Whether a channel varies enough around its mean to be centered on it. A constant channel (the zero channel,
        /// one behind dead inputs) or one whose spread is under 1% of its mean gets plain random offsets instead:
        /// centering it would leave a result that float rounding of the mean swamps.
        /// </summary>
        private static bool CanCenter((double Mean, double Std) stats) => stats.Std > 0 && stats.Std >= 1e-2 * Math.Abs(stats.Mean);

        /// <summary>Where an activation threshold sits, in standard deviations of its input from the mean.</summary>
        private double Threshold() => -0.5 + 1.5 * _random.NextDouble();

        /// <summary>
        /// Normal weights [O, I, k, k] with He scaling times a per-output-channel factor 10^U(−1, 1) (one channel in ten
        /// another 1000 times smaller); the factors are normalized to a root mean square of 1 so that the signal keeps
        /// its size through the layer however the channels vary.
        /// </summary>
        private Tensor ConvWeight(int outChannels, int inPerGroup, int kernel)
        {
            var perChannel = inPerGroup * kernel * kernel;
            var factors = new double[outChannels];
            for (var o = 0; o < outChannels; o++)
            {
                factors[o] = Math.Pow(10, -1 + 2 * _random.NextDouble()) * (_random.NextDouble() < 0.1 ? 1e-3 : 1);
            }
            var rms = Math.Sqrt(factors.Average(f => f * f));
            var he = Math.Sqrt(2.0 / perChannel);
            var data = new float[outChannels * perChannel];
            for (var o = 0; o < outChannels; o++)
            {
                var scale = he * factors[o] / rms;
                for (var i = 0; i < perChannel; i++)
                {
                    var v = (float)(Normal(_random) * scale);
                    data[o * perChannel + i] = v == 0f ? (float)scale : v;
                }
            }
            return Tensor.FromFloats(data, outChannels, inPerGroup, kernel, kernel);
        }

        public Value AddHead(HeadSpec head, Value x, FeatureShape s)
        {
            long features = s.Channels;
            if (head.GlobalPool)
            {
                x = Node("GlobalAveragePool", "head.gap", [x], Dims(Batch, s.Channels, 1, 1));
            }
            else
            {
                features = (long)s.Channels * s.Height * s.Width;
            }
            x = Node("Flatten", "head.flatten", [x], Dims(Batch, features),
                new Dictionary<string, AttributeValue> { ["axis"] = AttributeValue.Of(1L) });
            var weight = new float[head.Outputs * features];
            var scale = Math.Sqrt(1.0 / features);
            for (var i = 0; i < weight.Length; i++)
            {
                weight[i] = (float)(Normal(_random) * scale);
            }
            var fc = Node("Gemm", "head.fc",
                [x, Graph.AddConstant("head.fc.weight", Tensor.FromFloats(weight, head.Outputs, features))],
                Dims(Batch, head.Outputs),
                new Dictionary<string, AttributeValue> { ["transB"] = AttributeValue.Of(1L) });
            // The bias is drawn on the scale of how much each logit varies, so that it does not drown the logits.
            var logits = _calibration[fc];
            var bias = new float[head.Outputs];
            for (var j = 0; j < head.Outputs; j++)
            {
                var column = Enumerable.Range(0, CalibrationBatch).Select(b => (double)logits.Floats[b * head.Outputs + j]).ToArray();
                var mean = column.Average();
                var sd = Math.Sqrt(column.Average(v => (v - mean) * (v - mean)));
                bias[j] = sd > 0 ? (float)(Uniform(-1f, 1f) * sd) : Uniform(-0.5f, 0.5f);
            }
            fc.Producer!.AddInput(Graph.AddConstant("head.fc.bias", Tensor.FromFloats(bias, head.Outputs)));
            Evaluate(fc.Producer);
            return fc;
        }

        private Value Node(string op, string name, IEnumerable<Value?> inputs, FeatureShape shape, Dictionary<string, AttributeValue>? attributes = null) =>
            Node(op, name, inputs, Dims(Batch, shape.Channels, shape.Height, shape.Width), attributes);

        private Value Node(string op, string name, IEnumerable<Value?> inputs, Dim[] shape, Dictionary<string, AttributeValue>? attributes = null)
        {
            var node = Graph.AddNode(op, inputs, moduleName: name, attributes: attributes);
            node.Output.ElementType = ElementType.Float;
            node.Output.Shape = shape;
            Evaluate(node);
            return node.Output;
        }

        private void Evaluate(Node node) =>
            _calibration[node.Output] = ReferenceExecutor.Evaluate(node, v => v.ConstantValue ?? _calibration[v]);

        private float Uniform(float lo, float hi) => lo + (float)_random.NextDouble() * (hi - lo);

        private float[] Uniforms(int count, float lo, float hi)
        {
            var data = new float[count];
            for (var i = 0; i < count; i++)
            {
                data[i] = Uniform(lo, hi);
            }
            return data;
        }
    }
}

/// <summary>
/// A plain C# evaluator for the ops <see cref="RandomConvNets"/> emits (Conv, BatchNormalization, Identity, Relu,
/// LeakyRelu, PRelu, Clip, Add, MaxPool, AveragePool, GlobalAveragePool, Flatten, Gemm), with sums in double: an
/// oracle independent of ONNX Runtime, used to calibrate biases while building and to check the built graphs.
/// </summary>
public static class ReferenceExecutor
{
    /// <summary>Runs a single-input graph on <paramref name="input"/> and returns its first output.</summary>
    public static Tensor Run(Graph graph, Tensor input)
    {
        var values = new Dictionary<Value, Tensor>(ReferenceEqualityComparer.Instance) { [graph.Inputs.Single()] = input };
        foreach (var node in graph.Nodes)
        {
            values[node.Output] = Evaluate(node, v => v.ConstantValue ?? values[v]);
        }
        return values[graph.Outputs[0]];
    }

    /// <summary>The output of one node, reading its inputs through <paramref name="read"/>.</summary>
    public static Tensor Evaluate(Node node, Func<Value, Tensor> read)
    {
        var x = read(node.Input(0));
        return node.OpType switch
        {
            "Conv" => Conv(node, x, read(node.Input(1)), node.InputOrNull(2) is { } b ? read(b) : null),
            "BatchNormalization" => BatchNorm(x, read(node.Input(1)), read(node.Input(2)), read(node.Input(3)), read(node.Input(4)), node.GetFloat("epsilon", 1e-5f)),
            "Identity" => x.Clone(),
            "Relu" => Map(x, v => Math.Max(v, 0f)),
            "LeakyRelu" => Map(x, v => v >= 0 ? v : v * node.GetFloat("alpha", 0.01f)),
            "PRelu" => PRelu(x, read(node.Input(1))),
            "Clip" => Clip(x, node.InputOrNull(1) is { } lo ? read(lo).Floats[0] : float.MinValue, node.InputOrNull(2) is { } hi ? read(hi).Floats[0] : float.MaxValue),
            "Add" => Add(x, read(node.Input(1))),
            "MaxPool" or "AveragePool" => Pool(node, x),
            "GlobalAveragePool" => GlobalAveragePool(x),
            "Flatten" => Flatten(x, node.GetInt("axis", 1)),
            "Gemm" => Gemm(node, x, read(node.Input(1)), node.InputOrNull(2) is { } c ? read(c) : null),
            _ => throw new NotSupportedException($"the reference executor does not run {node.OpType} ('{node.ModuleName}')"),
        };
    }

    private static Tensor Map(Tensor x, Func<float, float> f)
    {
        var result = x.Clone();
        var data = result.Floats;
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = f(data[i]);
        }
        return result;
    }

    private static Tensor Clip(Tensor x, float lo, float hi) => Map(x, v => Math.Min(Math.Max(v, lo), hi));

    private static Tensor Conv(Node node, Tensor x, Tensor w, Tensor? b)
    {
        int n = (int)x.Shape[0], c = (int)x.Shape[1], h = (int)x.Shape[2], wd = (int)x.Shape[3];
        int m = (int)w.Shape[0], cg = (int)w.Shape[1], kh = (int)w.Shape[2], kw = (int)w.Shape[3];
        var group = (int)node.GetInt("group", 1);
        var strides = node.GetInts("strides") ?? [1, 1];
        var dilations = node.GetInts("dilations") ?? [1, 1];
        var pads = node.GetInts("pads") ?? [0, 0, 0, 0];
        int sh = (int)strides[0], sw = (int)strides[1], dh = (int)dilations[0], dw = (int)dilations[1];
        int pt = (int)pads[0], pl = (int)pads[1], pb = (int)pads[2], pr = (int)pads[3];
        var oh = (h + pt + pb - (dh * (kh - 1) + 1)) / sh + 1;
        var ow = (wd + pl + pr - (dw * (kw - 1) + 1)) / sw + 1;
        if (c != cg * group || m % group != 0)
        {
            throw new InvalidOperationException($"conv '{node.ModuleName}': {c} input channels, weight {Shapes.Format(w.Shape)}, group {group}");
        }
        var xs = x.Floats;
        var ws = w.Floats;
        var result = new float[n * m * oh * ow];
        var perGroup = m / group;
        for (var bi = 0; bi < n; bi++)
        {
            for (var o = 0; o < m; o++)
            {
                var firstIn = o / perGroup * cg;
                for (var y = 0; y < oh; y++)
                {
                    for (var z = 0; z < ow; z++)
                    {
                        double sum = b is null ? 0 : b.Floats[o];
                        for (var ci = 0; ci < cg; ci++)
                        {
                            for (var ky = 0; ky < kh; ky++)
                            {
                                var iy = y * sh + ky * dh - pt;
                                if (iy < 0 || iy >= h)
                                {
                                    continue;
                                }
                                for (var kx = 0; kx < kw; kx++)
                                {
                                    var ix = z * sw + kx * dw - pl;
                                    if (ix < 0 || ix >= wd)
                                    {
                                        continue;
                                    }
                                    sum += (double)xs[((bi * c + firstIn + ci) * h + iy) * wd + ix] * ws[((o * cg + ci) * kh + ky) * kw + kx];
                                }
                            }
                        }
                        result[((bi * m + o) * oh + y) * ow + z] = (float)sum;
                    }
                }
            }
        }
        return Tensor.FromFloats(result, n, m, oh, ow);
    }

    private static Tensor BatchNorm(Tensor x, Tensor gamma, Tensor beta, Tensor mean, Tensor variance, float epsilon)
    {
        var result = x.Clone();
        int n = (int)x.Shape[0], c = (int)x.Shape[1];
        var hw = (int)(x.ElementCount / (n * c));
        var data = result.Floats;
        for (var bi = 0; bi < n; bi++)
        {
            for (var ch = 0; ch < c; ch++)
            {
                var scale = gamma.Floats[ch] / Math.Sqrt(variance.Floats[ch] + (double)epsilon);
                var shift = beta.Floats[ch] - mean.Floats[ch] * scale;
                foreach (ref var v in data.Slice((bi * c + ch) * hw, hw))
                {
                    v = (float)(v * scale + shift);
                }
            }
        }
        return result;
    }

    private static Tensor PRelu(Tensor x, Tensor slope)
    {
        var result = x.Clone();
        int n = (int)x.Shape[0], c = (int)x.Shape[1];
        var hw = (int)(x.ElementCount / (n * c));
        var data = result.Floats;
        for (var bi = 0; bi < n; bi++)
        {
            for (var ch = 0; ch < c; ch++)
            {
                var a = slope.ElementCount == 1 ? slope.Floats[0] : slope.Floats[ch];
                foreach (ref var v in data.Slice((bi * c + ch) * hw, hw))
                {
                    v = v >= 0 ? v : v * a;
                }
            }
        }
        return result;
    }

    private static Tensor Add(Tensor a, Tensor b)
    {
        if (!a.Shape.SequenceEqual(b.Shape))
        {
            throw new NotSupportedException($"the reference Add takes equal shapes, not {Shapes.Format(a.Shape)} and {Shapes.Format(b.Shape)}");
        }
        var result = a.Clone();
        var data = result.Floats;
        var other = b.Floats;
        for (var i = 0; i < data.Length; i++)
        {
            data[i] += other[i];
        }
        return result;
    }

    private static Tensor Pool(Node node, Tensor x)
    {
        var kernel = node.GetInts("kernel_shape") ?? throw new InvalidOperationException($"pool '{node.ModuleName}' has no kernel_shape");
        var strides = node.GetInts("strides") ?? [1, 1];
        if (node.GetInts("pads") is { } pads && pads.Any(p => p != 0))
        {
            throw new NotSupportedException("the reference pools take no padding");
        }
        int n = (int)x.Shape[0], c = (int)x.Shape[1], h = (int)x.Shape[2], w = (int)x.Shape[3];
        int kh = (int)kernel[0], kw = (int)kernel[1], sh = (int)strides[0], sw = (int)strides[1];
        int oh = (h - kh) / sh + 1, ow = (w - kw) / sw + 1;
        var max = node.OpType == "MaxPool";
        var xs = x.Floats;
        var result = new float[n * c * oh * ow];
        for (var plane = 0; plane < n * c; plane++)
        {
            for (var y = 0; y < oh; y++)
            {
                for (var z = 0; z < ow; z++)
                {
                    double acc = max ? double.NegativeInfinity : 0;
                    for (var ky = 0; ky < kh; ky++)
                    {
                        for (var kx = 0; kx < kw; kx++)
                        {
                            var v = xs[(plane * h + y * sh + ky) * w + z * sw + kx];
                            acc = max ? Math.Max(acc, v) : acc + v;
                        }
                    }
                    result[(plane * oh + y) * ow + z] = (float)(max ? acc : acc / (kh * kw));
                }
            }
        }
        return Tensor.FromFloats(result, n, c, oh, ow);
    }

    private static Tensor GlobalAveragePool(Tensor x)
    {
        int n = (int)x.Shape[0], c = (int)x.Shape[1];
        var hw = (int)(x.ElementCount / (n * c));
        var xs = x.Floats;
        var result = new float[n * c];
        for (var plane = 0; plane < n * c; plane++)
        {
            double sum = 0;
            foreach (var v in xs.Slice(plane * hw, hw))
            {
                sum += v;
            }
            result[plane] = (float)(sum / hw);
        }
        return Tensor.FromFloats(result, n, c, 1, 1);
    }

    private static Tensor Flatten(Tensor x, long axis)
    {
        var outer = Shapes.ElementCount(x.Shape.Take((int)axis).ToArray());
        return x.Clone().Reshape(outer, x.ElementCount / outer);
    }

    private static Tensor Gemm(Node node, Tensor a, Tensor b, Tensor? c)
    {
        if (node.GetInt("transA", 0) != 0 || node.GetFloat("alpha", 1f) != 1f || node.GetFloat("beta", 1f) != 1f)
        {
            throw new NotSupportedException("the reference Gemm takes transA = 0, alpha = beta = 1");
        }
        var transB = node.GetInt("transB", 0) != 0;
        int rows = (int)a.Shape[0], inner = (int)a.Shape[1];
        var cols = (int)(transB ? b.Shape[0] : b.Shape[1]);
        var result = new float[rows * cols];
        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < cols; j++)
            {
                double sum = c is null ? 0 : c.ElementCount == 1 ? c.Floats[0] : c.Floats[j];
                for (var k = 0; k < inner; k++)
                {
                    sum += (double)a.Floats[i * inner + k] * (transB ? b.Floats[j * inner + k] : b.Floats[k * cols + j]);
                }
                result[i * cols + j] = (float)sum;
            }
        }
        return Tensor.FromFloats(result, rows, cols);
    }
}

/// <summary>
/// FsCheck registration of the <see cref="ConvNetSpec"/> arbitrary:
/// <c>[Property(Arbitrary = new[] { typeof(ConvNetArbitraries) })] public void P(ConvNetSpec spec, int seed)</c>.
/// </summary>
public static class ConvNetArbitraries
{
    public static Arbitrary<ConvNetSpec> ConvNetSpecs() => RandomConvNets.Arbitrary();
}
