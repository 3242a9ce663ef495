namespace SharpQuant.Plots.Report;

/// <summary>
/// What a section is made of. The set is closed on purpose: the writer renders each kind, and anything a builder
/// wants to show has to be one of these (text is always escaped; only figures carry bytes).
/// </summary>
public abstract record ReportBlock;

/// <summary>How a paragraph stands out: plain text, a note (context the reader needs), or a warning (something went wrong or was left out).</summary>
public enum ParagraphTone
{
    Plain,
    Note,
    Warning,
}

/// <summary>A paragraph of plain text.</summary>
public sealed record ReportParagraph(string Text, ParagraphTone Tone = ParagraphTone.Plain) : ReportBlock;

/// <summary>A two-column table of facts: name on the left, value on the right.</summary>
public sealed record ReportKeyValues(IReadOnlyList<KeyValuePair<string, string>> Rows) : ReportBlock;

/// <summary>
/// A table of data with a header row. Columns listed in <see cref="NumericColumns"/> are right-aligned in a
/// fixed-width font so that digits line up; cells are text already formatted by <see cref="ReportNumbers"/>.
/// </summary>
public sealed record ReportTable(IReadOnlyList<string> Columns, IReadOnlyList<IReadOnlyList<string>> Rows) : ReportBlock
{
    public IReadOnlySet<int> NumericColumns { get; init; } = new HashSet<int>();

    /// <summary>A sentence under the table saying what it shows.</summary>
    public string? Caption { get; init; }

    /// <summary>Cells in a fixed-width font (code-like content such as graph nodes).</summary>
    public bool Monospace { get; init; }
}

/// <summary>Preformatted text (a graph table, printed parameters), shown as is in a fixed-width font.</summary>
public sealed record ReportPreformatted(string Text) : ReportBlock;

/// <summary>Blocks folded away behind a one-line summary the reader clicks to open (HTML details/summary).</summary>
public sealed record ReportDetails(string Summary, IReadOnlyList<ReportBlock> Blocks, bool Open = false) : ReportBlock;

/// <summary>An image (PNG bytes, embedded in the file) with a caption saying what it shows.</summary>
public sealed record ReportFigure(byte[] Png, string Caption) : ReportBlock;
