using SharpQuant.Analysis;

namespace SharpQuant.Plots.Report;

/// <summary>A sensitivity analysis of one quantized model, as the report shows it.</summary>
/// <param name="Label">How the report names the model (int8, no CLE).</param>
public sealed record ReportedSensitivity(string Label, SensitivityHistograms Histograms);

/// <summary>
/// Section "Sensitivity analysis": histograms on the quantization grid with the gradient of the model output summed
/// into each bin (the green overlay, DESIGN.md "Visualization"), for the few quantizers the report was asked about,
/// with the sentence saying which gradient it is and how much of it the clamped values would have carried.
/// </summary>
public static class SensitivitySection
{
    public const string Heading = "Sensitivity analysis";

    /// <param name="runs">One analysis per model; empty when there was no data.</param>
    /// <param name="data">What was backpropagated (the inputs), for the introduction; null when there was no data.</param>
    public static ReportSection Build(IReadOnlyList<ReportedSensitivity> runs, string? data)
    {
        if (data is null || runs.Count == 0)
        {
            return new ReportSection(ReportFlow.Sensitivity, Heading, [
                new ReportParagraph("No sensitivity analysis: backpropagating the model output needs inputs. Give images (--images DIR) or, for the ppocr-cls model, rendered text lines (--text-orientation N).", ParagraphTone.Note),
            ]);
        }
        var blocks = new List<ReportBlock>
        {
            new ReportParagraph($"The output of each quantized model was backpropagated on {data}: the green bars and curve are the " +
                $"{runs[0].Histograms.DescribeGradient()}, as a share of the total, next to the values in blue. A bin with much of the " +
                "gradient moves the output most; its rounding error matters most there. Weights are on the integer grid (w/s + z) with " +
                "their gradients summed over all inputs; activations on their value scale."),
        };
        var rows = new List<IReadOnlyList<string>>();
        var figures = new List<ReportBlock>();
        foreach (var run in runs)
        {
            foreach (var (h, weight) in run.Histograms.Weights.Select(h => (h, true)).Concat(run.Histograms.Activations.Select(h => (h, false))))
            {
                rows.Add([run.Label, h.Quantizer.Name, ReportNumbers.Integer(h.Histogram.Total), ReportNumbers.Percent(h.Histogram.ClampedMass),
                    ReportNumbers.Percent(h.Histogram.ZeroBinMass), ReportNumbers.Percent(ZeroBinGradientShare(h.Histogram))]);
                var labels = ModelFigures.SensitivityLabels(run.Histograms, h, weight, run.Label);
                figures.Add(new ReportFigure(QuantGridHistogramFigure.Png(h.Histogram, labels),
                    $"{run.Label}: {h.Quantizer.Name}, {(weight ? "weights" : "activations")} (blue) and sensitivity (green), " +
                    $"{QuantGridHistogram.BinsPerStep} bins per quantization step; insets: where inside a step the values (left) and the gradient (right) sit."));
            }
        }
        blocks.Add(new ReportTable(["model", "quantizer", "values", "clamped", "in the zero bin", "|Σ gradient| in the zero bin"], rows)
        {
            NumericColumns = new HashSet<int> { 2, 3, 4, 5 },
            Caption = "Clamped values get no gradient (the straight-through estimator stops there), so the green bars stop at the grid's ends. " +
                "The zero bin of a ReLU output holds most values and, since moving a zero still moves the output, often most of the gradient too.",
        });
        blocks.AddRange(figures);
        return new ReportSection(ReportFlow.Sensitivity, Heading, blocks);
    }

    /// <summary>The share of |Σ gradient| (as <see cref="QuantGridHistogram.GradientMass"/> counts it) in the bin centred on the value 0.</summary>
    internal static double ZeroBinGradientShare(QuantGridHistogram h) =>
        h.GradientMass()[h.CentroidBin(h.Axis == QuantGridAxis.Integer ? 0 : h.ZeroPoint)];
}
