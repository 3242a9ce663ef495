namespace SharpQuant.Passes;

/// <summary>
/// Finds the layers to equalize by walking forward from every linear layer through ops that commute with a
/// positive per-channel scale (ReLU, PReLU, LeakyReLU, Identity, Dropout, max and average pooling, nearest or
/// linear Resize, Flatten and channel-preserving Reshape) to the next linear layer. The walk stops, and the candidate
/// is reported with the reason, at ops that do not commute (Add, Concat, Mul, Sigmoid, hard-swish; ReLU6 only
/// when asked to skip it), at tensors read by several ops, and at graph outputs.
/// </summary>
public static class EqualizationSetFinder
{
    public static EqualizationSetsReport Find(Graph graph, Relu6Mode relu6 = Relu6Mode.Exact)
    {
        var sets = new List<EqualizationSet>();
        var rejected = new List<RejectedCandidate>();
        var middles = new HashSet<Node>(ReferenceEqualityComparer.Instance);
        foreach (var node in graph.Nodes)
        {
            if (!LinearLayer.IsLinearOp(node) || middles.Contains(node))
            {
                continue;
            }
            if (LinearLayer.TryCreate(node, out var why) is not { } first)
            {
                rejected.Add(new RejectedCandidate(node.ModuleName, node.ModuleName, $"not equalizable: {why}"));
                continue;
            }
            // Equalization divides the first layer's output channels, bias included: a computed bias cannot be.
            if (first.BiasEditObstacle is { } biasReason)
            {
                rejected.Add(new RejectedCandidate(node.ModuleName, node.ModuleName, $"not equalizable: {biasReason}"));
                continue;
            }
            var step = Walk(first, relu6);
            if (step.Next is null)
            {
                rejected.Add(new RejectedCandidate(node.ModuleName, step.PathText, step.Reason!));
                continue;
            }
            var layers = new List<Node> { node, step.Next.Node };
            var links = new List<EqualizationLink> { step.Link! };
            if (step.Next.IsDepthwise && step.Next.BiasEditObstacle is { } middleBias)
            {
                // The triple would rescale the depthwise layer's outputs; the pair up to it still works.
                rejected.Add(new RejectedCandidate(step.Next.Node.ModuleName, step.Next.Node.ModuleName, $"no depthwise triple: {middleBias}"));
            }
            else if (step.Next.IsDepthwise)
            {
                var third = Walk(step.Next, relu6);
                if (third.Next is not null)
                {
                    layers.Add(third.Next.Node);
                    links.Add(third.Link!);
                    middles.Add(step.Next.Node);
                }
            }
            sets.Add(new EqualizationSet(layers, links));
        }
        return new EqualizationSetsReport(sets, rejected);
    }

    private sealed record WalkResult(LinearLayer? Next, EqualizationLink? Link, string PathText, string? Reason);

    private static WalkResult Walk(LinearLayer from, Relu6Mode relu6)
    {
        var path = new List<Node>();
        var value = from.Node.Output;
        string PathText(string? end = null) =>
            string.Join(" → ", new[] { from.Node.ModuleName }.Concat(path.Select(p => p.ModuleName)).Concat(end is null ? [] : [end]));
        WalkResult Reject(string reason, string? end = null) => new(null, null, PathText(end), reason);

        while (true)
        {
            if (value.IsGraphOutput)
            {
                return Reject("its output is a graph output");
            }
            // Shape and Size read only the shape, which scaling does not change.
            var readers = value.Consumers.Where(c => c.OpType is not ("Shape" or "Size")).ToList();
            if (readers.Count == 0)
            {
                return Reject("nothing reads its output");
            }
            if (readers.Count > 1)
            {
                return Reject($"the tensor is read by {readers.Count} ops ({string.Join(", ", readers.Take(4).Select(r => r.ModuleName))}); equalizing one reader would change the others");
            }
            var next = readers[0];
            if (LinearLayer.IsLinearOp(next))
            {
                if (!ReferenceEquals(next.InputOrNull(0), value))
                {
                    return Reject($"it feeds a weight or bias of {next.OpType} '{next.ModuleName}'", next.ModuleName);
                }
                if (LinearLayer.TryCreate(next, out var why) is not { } layer)
                {
                    return Reject($"'{next.ModuleName}' is not equalizable: {why}", next.ModuleName);
                }
                if (layer.InChannels % from.OutChannels != 0 || (layer.InChannels != from.OutChannels && !path.Any(p => p.OpType is "Flatten" or "Reshape")))
                {
                    return Reject($"'{from.Node.ModuleName}' has {from.OutChannels} output channels but '{next.ModuleName}' reads {layer.InChannels}", next.ModuleName);
                }
                return new WalkResult(layer, new EqualizationLink(path.ToArray(), layer.InChannels / from.OutChannels), PathText(next.ModuleName), null);
            }
            if (BlockingReason(next, relu6) is { } reason)
            {
                return Reject(reason, next.ModuleName);
            }
            path.Add(next);
            value = next.Output;
        }
    }

    /// <summary>Why <paramref name="node"/> does not commute with a positive per-channel scale, or null when it does.</summary>
    internal static string? BlockingReason(Node node, Relu6Mode relu6)
    {
        if (!node.IsStandardOnnx)
        {
            return $"{node.Domain}.{node.OpType} '{node.ModuleName}' is not a standard op";
        }
        switch (node.OpType)
        {
            case "Relu" or "LeakyRelu" or "Identity" or "MaxPool" or "AveragePool" or "GlobalAveragePool" or "GlobalMaxPool":
                return null;
            case "Dropout":
                return node.Outputs.Skip(1).Any(o => o.Uses.Count > 0) ? $"Dropout '{node.ModuleName}' exposes its mask" : null;
            case "PRelu":
                return node.ConstantInput(1) is null ? $"PRelu '{node.ModuleName}' has a computed slope" : null;
            case "Resize" or "Upsample":
                var mode = node.GetString("mode", "nearest");
                return mode is "nearest" or "linear" ? null : $"{node.OpType} '{node.ModuleName}' in {mode} mode is not known to commute";
            case "Flatten":
                return node.GetInt("axis", 1) == 1 ? null : $"Flatten '{node.ModuleName}' with axis {node.GetInt("axis", 1)} does not keep channels together";
            case "Reshape":
                return ReshapeKeepsChannels(node) ? null : $"Reshape '{node.ModuleName}' does not keep the channel axis recognizable";
            case "Clip":
                var (min, max) = ClipBounds(node);
                if (min == 0 && float.IsPositiveInfinity(max))
                {
                    return null;
                }
                if (min == 0 && max > 0 && relu6 != Relu6Mode.Skip)
                {
                    return null;
                }
                return min == 0 && max > 0
                    ? $"Clip(0, {max}) '{node.ModuleName}' (ReLU6) does not commute with per-channel scaling (use --relu6 replace or exact)"
                    : $"Clip({min}, {max}) '{node.ModuleName}' does not commute with per-channel scaling";
            default:
                return $"{node.OpType} '{node.ModuleName}' does not commute with per-channel scaling";
        }
    }

    /// <summary>A Reshape to [N, C·k] from a tensor whose spatial size is known, or right after a global pool.</summary>
    private static bool ReshapeKeepsChannels(Node reshape)
    {
        var input = reshape.Input(0);
        if (input.Producer?.OpType is "GlobalAveragePool" or "GlobalMaxPool")
        {
            return reshape.Output.Shape is null || reshape.Output.Shape.Count == 2;
        }
        var target = reshape.ConstantInput(1)?.ToInt64Array();
        return target is { Length: 2 } && input.Shape is { Count: >= 2 } && (target[0] is 0 or -1 || input.Shape[0].Size == target[0]);
    }

    /// <summary>The bounds of a Clip, from attributes (opset &lt; 11) or constant inputs; NaN when not constant.</summary>
    internal static (float Min, float Max) ClipBounds(Node clip)
    {
        if (clip.Owner.Info.OnnxOpset < 11)
        {
            return (clip.GetFloat("min", float.NegativeInfinity), clip.GetFloat("max", float.PositiveInfinity));
        }
        float Bound(int index, float fallback) =>
            clip.InputOrNull(index) is null ? fallback : clip.ConstantInput(index) is { ElementCount: 1 } t ? t.ToArray<float>()[0] : float.NaN;
        return (Bound(1, float.NegativeInfinity), Bound(2, float.PositiveInfinity));
    }
}
