namespace SharpQuant.Plots.Report;

/// <summary>Section "Figures": whatever images it is given (per-channel ranges, boxplots, histograms on the quantization grid), each with its caption.</summary>
public static class FiguresSection
{
    public static ReportSection Build(IReadOnlyList<ReportFigure> figures, string? introduction = null)
    {
        var blocks = new List<ReportBlock>();
        if (introduction is not null)
        {
            blocks.Add(new ReportParagraph(introduction));
        }
        if (figures.Count == 0)
        {
            blocks.Add(new ReportParagraph("No figures for this model.", ParagraphTone.Note));
        }
        blocks.AddRange(figures);
        return new ReportSection(ReportFlow.Figures, "Figures", blocks);
    }
}
