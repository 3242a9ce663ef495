namespace SharpQuant.Plots.Report;

/// <summary>
/// Section "Graph": the torch.fx-style table of every node (print_tabular). The first rows are shown; the whole table,
/// and the same as plain text, are folded away because they are long.
/// </summary>
public static class GraphSection
{
    /// <summary>Rows shown before the reader opens the full table: enough to see the stem and the first block.</summary>
    public const int PreviewRows = 12;

    public static ReportSection Build(Graph graph)
    {
        var rows = GraphTable.Rows(graph);
        return new ReportSection(ReportFlow.Graph, "Graph", [
            new ReportParagraph(
                "Each node as torch.fx's print_tabular shows it: placeholder for inputs, call_module for layers with weights " +
                "(weights shown by name and shape), call_function for other ops, get_attr for constants, output last. " +
                "Names are module names (dotted paths such as stage2.block0.conv1); the rest of the report uses them."),
            Table(rows.Take(PreviewRows).ToList(), $"The first {Math.Min(PreviewRows, rows.Count)} of {rows.Count} rows."),
            new ReportDetails($"Show the whole table ({rows.Count} rows)", [Table(rows, null)]),
            new ReportDetails("Show it as text (print_tabular)", [new ReportPreformatted(GraphTable.Format(rows))]),
        ]);
    }

    private static ReportTable Table(IReadOnlyList<GraphTableRow> rows, string? caption) =>
        new(["opcode", "name", "target", "args", "kwargs"], rows.Select(r => (IReadOnlyList<string>)[r.Opcode, r.Name, r.Target, r.Args, r.Kwargs]).ToList())
        {
            Monospace = true,
            Caption = caption,
        };
}
