namespace SharpQuant.Passes.OpsetConversion;

/// <summary>
/// MeanVarianceNormalization before 9 (experimental: across_channels, normalize_variance) → 9 (axes). ONNX Runtime,
/// which ran these models, takes each channel's statistics over the batch and the image (across_channels = 0), or
/// one set over everything: opset 9 says that with axes [0, 2, 3, …] (its default) or [0, 1, 2, …]. Without
/// variance normalization only the mean is taken off, which opset 9's op cannot leave out: x − ReduceMean(x).
/// </summary>
internal sealed class MeanVarianceNormalizationConverter : IOpConverter
{
    /// <summary>The old op reads NCHW images.</summary>
    private const int DefaultRank = 4;

    public void Convert(OpsetConversionContext context, Node node)
    {
        var x = node.Input(0);
        var rank = context.Ranks.RankOf(x) ?? DefaultRank;
        var acrossChannels = node.GetInt("across_channels", 0) != 0;
        var axes = Enumerable.Range(0, rank).Where(a => a != 1 || acrossChannels).Select(a => (long)a).ToArray();
        if (node.GetInt("normalize_variance", 1) != 0)
        {
            context.Replace(node, "MeanVarianceNormalization", [x], new Dictionary<string, AttributeValue> { ["axes"] = AttributeValue.Of(axes) });
            return;
        }
        var mean = context.Add(node, "ReduceMean", "mean", [x], new Dictionary<string, AttributeValue> { ["axes"] = AttributeValue.Of(axes), ["keepdims"] = AttributeValue.Of(1L) });
        mean.Output.ElementType = x.ElementType;
        context.Replace(node, "Sub", [x, mean.Output]);
    }
}
