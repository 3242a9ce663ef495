namespace SharpQuant.Passes;

public sealed record AbsorbHighBiasOptions
{
    /// <summary>c = max(0, β − n·γ): the pre-activation stays above c for all but a Gaussian tail (DFQ uses 3).</summary>
    public double StandardDeviations { get; init; } = 3;

    /// <summary>
    /// Per-channel minima of each layer's pre-activation measured on calibration data, by module name; used instead of
    /// BatchNorm statistics where present. With them the absorption is exact on that data.
    /// </summary>
    public IReadOnlyDictionary<string, double[]>? MeasuredMinima { get; init; }

    /// <summary>
    /// Absorb into a second layer that pads its input with zeros. The padded border then sees −c instead of 0, so
    /// border outputs change: off by default, and reported.
    /// </summary>
    public bool AllowZeroPaddedConsumer { get; init; }
}

public sealed record AbsorbedBias(string From, string Into, int Channels, double MeanAbsorbed, string Source);

public sealed record AbsorbReport(IReadOnlyList<AbsorbedBias> Absorbed, IReadOnlyList<RejectedCandidate> Skipped);

/// <summary>
/// High-bias absorption (DFQ, Nagel et al. 2019): for L1 → ReLU → L2, a per-channel amount c that the
/// pre-activation of L1 (almost) never falls below is taken out of L1's bias and added to L2's through its
/// weights: b1 −= c, b2 += W2·c, since ReLU(x − c) + c = ReLU(x) when x ≥ c ≥ 0. c comes from folded BatchNorm
/// statistics (c = max(0, β − 3γ)) or, where given, from minima measured on calibration data (clamped at 0).
/// </summary>
public sealed class AbsorbHighBias(AbsorbHighBiasOptions? options = null) : GraphPass<AbsorbReport>
{
    private readonly AbsorbHighBiasOptions _options = options ?? new AbsorbHighBiasOptions();

    public override string Name => "absorb-high-bias";

    protected override AbsorbReport Apply(Graph graph)
    {
        var absorbed = new List<AbsorbedBias>();
        var skipped = new List<RejectedCandidate>();
        foreach (var set in EqualizationSetFinder.Find(graph).Sets)
        {
            for (var i = 0; i + 1 < set.Layers.Count; i++)
            {
                var first = LinearLayer.Create(set.Layers[i]);
                var second = LinearLayer.Create(set.Layers[i + 1]);
                var path = $"{first.Node.ModuleName} → {second.Node.ModuleName}";
                var reason = Obstacle(first, second, set.Links[i]);
                var (shift, source) = reason is null ? Shift(first) : (null, "");
                reason ??= shift is null ? "no BatchNorm statistics or measured minima for the first layer" : null;
                if (reason is not null)
                {
                    skipped.Add(new RejectedCandidate(first.Node.ModuleName, path, reason));
                    continue;
                }
                Absorb(first, second, set.Links[i], shift!);
                absorbed.Add(new AbsorbedBias(first.Node.ModuleName, second.Node.ModuleName, shift!.Count(v => v > 0), shift!.Average(), source));
            }
        }
        return new AbsorbReport(absorbed, skipped);
    }

    private string? Obstacle(LinearLayer first, LinearLayer second, EqualizationLink link)
    {
        if (link.Between.Count == 0 || link.Between[0].OpType != "Relu")
        {
            return "no ReLU follows the first layer (absorption needs ReLU(x − c) + c = ReLU(x))";
        }
        // After the ReLU, only ops that commute with subtracting a per-channel constant may follow.
        if (link.Between.Skip(1).FirstOrDefault(n => n.OpType is not ("MaxPool" or "GlobalAveragePool" or "GlobalMaxPool" or "Identity" or "Dropout" or "Flatten" or "Reshape")) is { } other)
        {
            return $"{other.OpType} '{other.ModuleName}' between the layers does not commute with a shift";
        }
        if (!first.CanHaveBias || !second.CanHaveBias)
        {
            return "a MatMul has no bias to move the amount into";
        }
        if ((first.BiasEditObstacle ?? second.BiasEditObstacle) is { } biasReason)
        {
            return biasReason;
        }
        if (!_options.AllowZeroPaddedConsumer && PadsWithZeros(second.Node))
        {
            return $"'{second.Node.ModuleName}' pads its input with zeros, so border outputs would change (allow it to absorb anyway)";
        }
        return null;
    }

    private static bool PadsWithZeros(Node node) =>
        node.OpType == "Conv"
        && ((node.GetInts("pads")?.Any(p => p != 0) ?? false) || node.GetString("auto_pad", "NOTSET") is "SAME_UPPER" or "SAME_LOWER");

    private (double[]? Shift, string Source) Shift(LinearLayer first)
    {
        if (_options.MeasuredMinima?.GetValueOrDefault(first.Node.ModuleName) is { } minima)
        {
            return (minima.Select(m => Math.Max(0, m)).ToArray(), "measured minima");
        }
        if (BatchNormStats.Of(first.Node) is { } bn)
        {
            var n = _options.StandardDeviations;
            return (bn.Beta.Select((b, c) => Math.Max(0, b - n * Math.Abs(bn.Gamma[c]))).ToArray(), $"BatchNorm β − {n}·|γ|");
        }
        return (null, "");
    }

    private static void Absorb(LinearLayer first, LinearLayer second, EqualizationLink link, double[] shift)
    {
        var b1 = first.BiasOrZeros();
        for (var c = 0; c < b1.Length; c++)
        {
            b1[c] = (float)(b1[c] - shift[c]);
        }
        first.SetBias(b1);
        if (BatchNormStats.Of(first.Node) is { } stats)
        {
            first.Node.Metadata[BatchNormStats.MetadataKey] = stats.ShiftedBy(shift.Select(v => -v).ToArray());
        }
        var added = second.ApplyToConstantInput(link.ExpandToInputs(shift));
        var b2 = second.BiasOrZeros();
        for (var o = 0; o < b2.Length; o++)
        {
            b2[o] = (float)(b2[o] + added[o]);
        }
        second.SetBias(b2);
    }
}
