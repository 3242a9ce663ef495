namespace SharpQuant.Passes.OpsetConversion;

/// <summary>
/// How one default-domain op changed between opsets: the versions whose schema needs a rewrite of older nodes
/// (inputs, attributes or meaning changed, or the op was deprecated) and the converter that makes it. Versions that
/// only widened types, allowed negative axes or added attributes whose defaults keep the old behaviour are left out:
/// ONNX's converter treats those as compatible too.
/// </summary>
internal sealed record OpHistory(string OpType, long[] ChangedAt, IOpConverter? Converter)
{
    /// <summary>True when raising from <paramref name="from"/> to <paramref name="to"/> passes a version that needs the converter.</summary>
    public bool NeedsConversion(long from, long to) => Converter is not null && ChangedAt.Any(v => from < v && v <= to);
}
