namespace SharpQuant.Passes;

/// <summary>A BatchNormalization folded into the layer before it.</summary>
public sealed record FoldedBatchNorm(string BatchNorm, string Layer, string LayerOp);

/// <summary>A BatchNormalization left in place, and why.</summary>
public sealed record SkippedBatchNorm(string BatchNorm, string Reason);

public sealed record FoldReport(IReadOnlyList<FoldedBatchNorm> Folded, IReadOnlyList<SkippedBatchNorm> Skipped);

/// <summary>
/// Folds inference-mode BatchNormalization into the Conv, ConvTranspose, Gemm or MatMul before it:
/// W' = W·γ/√(σ²+ε) per output channel and b' = (b − μ)·γ/√(σ²+ε) + β, creating the bias where there was none
/// (a MatMul gets an Add). The statistics are kept on the layer as <see cref="BatchNormStats"/>.
/// A BatchNorm whose input has other readers, or that no linear layer precedes, stays and is reported.
/// </summary>
public sealed class FoldBatchNorm : GraphPass<FoldReport>
{
    public override string Name => "fold-batchnorm";

    protected override FoldReport Apply(Graph graph)
    {
        var folded = new List<FoldedBatchNorm>();
        var skipped = new List<SkippedBatchNorm>();
        foreach (var bn in graph.NodesOfType("BatchNormalization").ToList())
        {
            var reason = TryFold(graph, bn, out var layer);
            if (reason is null)
            {
                folded.Add(new FoldedBatchNorm(bn.ModuleName, layer!.ModuleName, layer.OpType));
            }
            else
            {
                skipped.Add(new SkippedBatchNorm(bn.ModuleName, reason));
            }
        }
        return new FoldReport(folded, skipped);
    }

    private static string? TryFold(Graph graph, Node bn, out Node? layerNode)
    {
        layerNode = null;
        if (bn.Outputs.Count > 1 && bn.Outputs.Skip(1).Any(o => o.Uses.Count > 0 || o.IsGraphOutput))
        {
            return "it is in training mode (it has running-statistics outputs)";
        }
        if (bn.Owner.Info.OnnxOpset < 9 && bn.GetInt("spatial", 1) == 0)
        {
            return "it normalizes per activation (spatial = 0), not per channel";
        }
        var stats = Enumerable.Range(1, 4).Select(bn.ConstantInput).ToArray();
        if (stats.Any(s => s is null || s.ElementType != ElementType.Float))
        {
            return "its scale, bias, mean or variance is not a float32 constant";
        }
        var input = bn.Input(0);
        if (input.Producer is not { } producer)
        {
            return "no layer precedes it";
        }
        if (!LinearLayer.IsLinearOp(producer))
        {
            return $"it follows {producer.OpType} '{producer.ModuleName}', not a Conv, ConvTranspose, Gemm or MatMul";
        }
        if (input.Uses.Count > 1 || input.IsGraphOutput)
        {
            return $"the output of '{producer.ModuleName}' is also read elsewhere";
        }
        if (LinearLayer.TryCreate(producer, out var why) is not { } layer)
        {
            return $"'{producer.ModuleName}' cannot be folded into: {why}";
        }
        if (layer.BiasEditObstacle is { } biasReason)
        {
            return biasReason;
        }
        if (producer.OpType is "Gemm" or "MatMul" && input.Shape is { Count: > 2 })
        {
            return $"'{producer.ModuleName}' output has rank {input.Shape.Count}; BatchNorm over axis 1 does not match its output features";
        }
        var gamma = stats[0]!.ToArray<float>();
        var beta = stats[1]!.ToArray<float>();
        var mean = stats[2]!.ToArray<float>();
        var variance = stats[3]!.ToArray<float>();
        if (new[] { gamma, beta, mean, variance }.Any(a => a.Length != layer.OutChannels))
        {
            return $"its statistics have {gamma.Length} channels but '{producer.ModuleName}' has {layer.OutChannels} outputs";
        }
        var epsilon = bn.GetFloat("epsilon", 1e-5f);
        var factors = new double[layer.OutChannels];
        for (var c = 0; c < factors.Length; c++)
        {
            var denominator = Math.Sqrt((double)variance[c] + epsilon);
            factors[c] = gamma[c] / denominator;
            if (!double.IsFinite(factors[c]))
            {
                return $"channel {c} has variance {variance[c]} with epsilon {epsilon}: the fold would not be finite";
            }
        }

        var oldBias = layer.BiasOrZeros();
        layer.ScaleOutputChannels(factors, includeBias: false);
        var bias = new float[layer.OutChannels];
        for (var c = 0; c < bias.Length; c++)
        {
            bias[c] = (float)((oldBias[c] - (double)mean[c]) * factors[c] + beta[c]);
        }

        Value result;
        if (layer.CanHaveBias)
        {
            layer.SetBias(bias);
            result = producer.Output;
        }
        else
        {
            var biasValue = graph.AddConstant(producer.ModuleName + ".bias", Tensor.FromFloats(bias, bias.Length));
            var add = graph.AddNode("Add", [producer.Output, biasValue], moduleName: producer.ModuleName + ".bias_add", after: producer);
            add.Output.ElementType = producer.Output.ElementType;
            add.Output.Shape = producer.Output.Shape;
            result = add.Output;
        }
        producer.Metadata[BatchNormStats.MetadataKey] = new BatchNormStats(bn.ModuleName, gamma, beta, mean, variance, epsilon);
        // The layer's output now carries the normalized values under the BatchNorm's output (its public name if it had one).
        graph.ReplaceAllUsesWith(bn.Output, result);
        graph.RemoveNode(bn);
        layerNode = producer;
        return null;
    }
}
