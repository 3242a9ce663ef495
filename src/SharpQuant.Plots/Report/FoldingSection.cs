using SharpQuant.Passes;

namespace SharpQuant.Plots.Report;

/// <summary>Section "BatchNorm folding": which BatchNorm went into which layer, and which stayed, with the reason.</summary>
public static class FoldingSection
{
    public static ReportSection Build(FoldReport report)
    {
        var blocks = new List<ReportBlock>
        {
            new ReportParagraph(
                $"{report.Folded.Count} BatchNormalization node{Plural(report.Folded.Count)} folded into the layer before, " +
                $"{report.Skipped.Count} left in place. Folding scales each output channel of the layer by γ/√(σ²+ε) and " +
                "sets its bias to (b − μ)·γ/√(σ²+ε) + β, so the float model computes the same; the statistics are kept for " +
                "data-free steps."),
        };
        if (report.Folded.Count > 0)
        {
            blocks.Add(new ReportDetails($"Show the {report.Folded.Count} folded BatchNorms", [
                new ReportTable(["BatchNorm", "folded into", "op"], report.Folded.Select(f => (IReadOnlyList<string>)[f.BatchNorm, f.Layer, f.LayerOp]).ToList()),
            ]));
        }
        if (report.Skipped.Count > 0)
        {
            blocks.Add(new ReportTable(["BatchNorm left in place", "reason"], report.Skipped.Select(s => (IReadOnlyList<string>)[s.BatchNorm, s.Reason]).ToList()));
        }
        return new ReportSection(ReportFlow.BatchNorm, "BatchNorm folding", blocks);
    }

    private static string Plural(int n) => n == 1 ? "" : "s";
}
