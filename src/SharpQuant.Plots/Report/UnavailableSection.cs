namespace SharpQuant.Plots.Report;

/// <summary>
/// A section that could not be made (a sensitivity analysis whose gradient has no rule for an op, a quantization the
/// model's data cannot drive): its place in the report says why, and the rest of the report is still written.
/// </summary>
public static class UnavailableSection
{
    private static readonly Dictionary<string, string> Headings = new(StringComparer.Ordinal)
    {
        [ReportFlow.Model] = "Model",
        [ReportFlow.Graph] = "Graph",
        [ReportFlow.BatchNorm] = "BatchNorm folding",
        [ReportFlow.Equalization] = "Cross-layer equalization",
        [ReportFlow.Quantization] = "Quantization and calibration",
        [ReportFlow.Evaluation] = "Evaluation",
        [ReportFlow.Figures] = "Figures",
        [ReportFlow.Sensitivity] = SensitivitySection.Heading,
        [ReportFlow.QuantizationParameters] = "Quantization parameters",
    };

    /// <summary>The heading a section of this id has when it can be made (the id itself for others).</summary>
    public static string HeadingOf(string id) => Headings.GetValueOrDefault(id, id);

    public static ReportSection Build(string id, string reason) =>
        new(id, HeadingOf(id), [
            new ReportParagraph($"This section could not be made: {reason.TrimEnd('.')}. The other sections were written as usual.", ParagraphTone.Warning),
        ]);
}
