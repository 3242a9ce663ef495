namespace SharpQuant.Plots.Report;

/// <summary>
/// A report before it is rendered: a title, a line saying what it is about, and sections in the order of the flow
/// (<see cref="ReportFlow"/>). <see cref="HtmlReportWriter"/> turns it into one self-contained HTML file.
/// </summary>
public sealed record ReportDocument(string Title, string Subtitle, IReadOnlyList<ReportSection> Sections)
{
    /// <summary>Facts about how the report was made (model file, data, command line), shown under the title.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Facts { get; init; } = [];
}
