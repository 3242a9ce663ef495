using SharpQuant.Quantization;

namespace SharpQuant.Plots.Report;

/// <summary>
/// Section "Quantization parameters": one quantizer's scales in each model side by side (the tutorial's print_scale
/// comparison without and with CLE), then every quantizer's scale and zero point, folded away.
/// </summary>
public static class QuantizerParametersSection
{
    /// <param name="sims">The quantized models; each gets a folded table of all its quantizers.</param>
    /// <param name="focusQuantizer">A quantizer name (for example stage2.block0.conv1.weight_fake_quant) compared across the models and printed in full; null for none.</param>
    public static ReportSection Build(IReadOnlyList<ReportedSim> sims, string? focusQuantizer)
    {
        var blocks = new List<ReportBlock>();
        var focus = focusQuantizer is null ? [] : sims.SelectMany(s => QParamsReport.Of(s.Sim, focusQuantizer).Select(q => (s.Label, Parameters: q))).ToList();
        if (focus.Count > 0)
        {
            blocks.Add(new ReportParagraph($"The scales of {focusQuantizer} in each model. With one scale per output channel, the largest over the " +
                "smallest scale is the layer's range spread; a single per-tensor scale would have to be the largest one."));
            blocks.Add(new ReportTable(["model", "channels", "smallest scale", "median scale", "largest scale", "largest / smallest", "zero point"], focus.Select(f =>
            {
                var sorted = f.Parameters.Scale.Order().ToArray();
                return (IReadOnlyList<string>)[
                    f.Label, ReportNumbers.Integer(sorted.Length), ReportNumbers.Scale(sorted[0]), ReportNumbers.Scale(sorted[sorted.Length / 2]),
                    ReportNumbers.Scale(sorted[^1]), ReportNumbers.Ratio(sorted[^1] / (double)sorted[0]), FormatZeroPoint(f.Parameters.ZeroPoint),
                ];
            }).ToList())
            {
                NumericColumns = new HashSet<int> { 1, 2, 3, 4, 5, 6 },
            });
            foreach (var (label, parameters) in focus)
            {
                blocks.Add(new ReportDetails($"Show every scale of the model {label} (print_scale)", [new ReportPreformatted(QParamsReport.Format(parameters))]));
            }
        }
        foreach (var s in sims)
        {
            var parameters = QParamsReport.Of(s.Sim);
            blocks.Add(new ReportDetails($"Show all {parameters.Count} quantizers of the model {s.Label}", [
                new ReportTable(["quantizer", "quantizes", "spec", "scale", "zero point"], parameters.Select(q => (IReadOnlyList<string>)[
                    q.Name, q.Target, q.Spec, FormatScale(q.Scale), FormatZeroPoint(q.ZeroPoint),
                ]).ToList())
                {
                    NumericColumns = new HashSet<int> { 3, 4 },
                    Caption = "Per-channel quantizers show the smallest, median and largest of their channel scales, and the channel count.",
                },
            ]));
        }
        return new ReportSection(ReportFlow.QuantizationParameters, "Quantization parameters", blocks);
    }

    private static string FormatScale(float[] scale)
    {
        if (scale.Length == 1)
        {
            return ReportNumbers.Scale(scale[0]);
        }
        var sorted = scale.Order().ToArray();
        return $"{ReportNumbers.Scale(sorted[0])} … {ReportNumbers.Scale(sorted[sorted.Length / 2])} … {ReportNumbers.Scale(sorted[^1])} ({sorted.Length} ch)";
    }

    private static string FormatZeroPoint(int[] zeroPoint) =>
        zeroPoint.Distinct().Count() == 1 ? ReportNumbers.Integer(zeroPoint[0]) : $"{zeroPoint.Min()} … {zeroPoint.Max()}";
}
