namespace SharpQuant.Passes;

/// <summary>How Clip(0, 6) (ReLU6) between two layers is treated: it does not commute with per-channel scaling.</summary>
public enum Relu6Mode
{
    /// <summary>Leave the layers around a ReLU6 unequalized (the float model stays exact).</summary>
    Skip,

    /// <summary>Replace ReLU6 by ReLU, which commutes; this changes the float model and is reported.</summary>
    Replace,

    /// <summary>
    /// Keep the model exact: ReLU6 becomes ReLU followed by a per-channel Min whose bound is rescaled with the channel.
    /// The default (<see cref="EqualizationOptions.Relu6"/>): MobileNetV2's blocks are equalized without any flag.
    /// </summary>
    Exact,
}

/// <summary>
/// The ops between two layers of a set and how channels map across them: with a Flatten between a conv and a
/// Gemm, output channel c of the first layer feeds inputs c·<see cref="Repeat"/> … c·Repeat + Repeat − 1 of the second.
/// </summary>
public sealed record EqualizationLink(IReadOnlyList<Node> Between, int Repeat)
{
    /// <summary>Per-channel values of the first layer spread over the inputs of the second that each channel feeds.</summary>
    public double[] ExpandToInputs(double[] perChannel) =>
        Repeat == 1 ? perChannel : perChannel.SelectMany(v => Enumerable.Repeat(v, Repeat)).ToArray();
}

/// <summary>
/// Layers whose weights can be rescaled together without changing the float function: a pair L1 → L2, or a
/// depthwise triple L1 → depthwise → L3 (Nagel et al. 2019), with the links between them.
/// </summary>
public sealed record EqualizationSet(IReadOnlyList<Node> Layers, IReadOnlyList<EqualizationLink> Links)
{
    public bool IsTriple => Layers.Count == 3;

    public IReadOnlyList<string> Names => Layers.Select(l => l.ModuleName).ToArray();

    /// <summary>As the tutorial prints it: ['layer1.0.conv1', 'layer1.0.conv2'].</summary>
    public override string ToString() => "[" + string.Join(", ", Names.Select(n => $"'{n}'")) + "]";
}

/// <summary>A layer that could have started a set, the path that was followed, and why no set was formed.</summary>
public sealed record RejectedCandidate(string Layer, string Path, string Reason);

public sealed record EqualizationSetsReport(IReadOnlyList<EqualizationSet> Sets, IReadOnlyList<RejectedCandidate> Rejected)
{
    public int PairCount => Sets.Count(s => !s.IsTriple);
    public int TripleCount => Sets.Count(s => s.IsTriple);

    /// <summary>All sets as one nested list, the way the PyTorch tutorial prints its layers to equalize.</summary>
    public string FormatSets() => "[" + string.Join(", ", Sets.Select(s => s.ToString())) + "]";
}
