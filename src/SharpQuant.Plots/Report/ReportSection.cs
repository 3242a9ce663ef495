namespace SharpQuant.Plots.Report;

/// <summary>
/// One step of the flow: an anchor id (one of <see cref="ReportFlow"/>'s), a heading, and its blocks in reading order.
/// </summary>
public sealed record ReportSection(string Id, string Heading, IReadOnlyList<ReportBlock> Blocks);
