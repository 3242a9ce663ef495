using System.Text;

namespace SharpQuant;

/// <summary>One row of the torch.fx-style graph table.</summary>
public sealed record GraphTableRow(string Opcode, string Name, string Target, string Args, string Kwargs);

/// <summary>
/// The graph as torch.fx's <c>print_tabular</c> shows it: opcode, name, target, args, kwargs. Graph inputs are
/// <c>placeholder</c>; constants read by ops without weights are <c>get_attr</c>; ops that own weights (Conv,
/// Gemm, MatMul with a constant, BatchNormalization) are <c>call_module</c> with their weights shown by name and
/// shape; every other op is <c>call_function</c>; the graph outputs close with <c>output</c>.
/// </summary>
public static class GraphTable
{
    public static IReadOnlyList<GraphTableRow> Rows(Graph graph)
    {
        var rows = new List<GraphTableRow>();
        foreach (var input in graph.Inputs)
        {
            rows.Add(new GraphTableRow("placeholder", input.Name, input.Name, "()", $"{{type: {input.ElementType.DisplayName()}, shape: {Shapes.Format(input.Shape)}}}"));
        }
        var owned = new HashSet<Value>(ReferenceEqualityComparer.Instance);
        foreach (var node in graph.Nodes.Where(IsModule))
        {
            foreach (var c in node.Inputs.Where(i => i is { IsConstant: true }))
            {
                owned.Add(c!);
            }
        }
        var shownConstants = new HashSet<Value>(ReferenceEqualityComparer.Instance);
        foreach (var node in graph.Nodes)
        {
            foreach (var c in node.Inputs.Where(i => i is { IsConstant: true } && !owned.Contains(i) && shownConstants.Add(i)))
            {
                rows.Add(new GraphTableRow("get_attr", c!.Name, c.Name, "()", $"{{shape: {Shapes.Format(c.ConstantValue!.Shape)}}}"));
            }
            var isModule = IsModule(node);
            var args = node.Inputs.Select(i => i is null ? "None" : i.IsConstant && isModule ? $"{i.Name}{Shapes.Format(i.ConstantValue!.Shape)}" : Display(i));
            var kwargs = node.Attributes.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}: {a.Value.Format()}");
            rows.Add(new GraphTableRow(
                isModule ? "call_module" : "call_function",
                node.ModuleName,
                isModule ? node.ModuleName : (node.IsStandardOnnx ? node.OpType : $"{node.Domain}.{node.OpType}"),
                "(" + string.Join(", ", args) + ")",
                "{" + string.Join(", ", kwargs) + "}"));
        }
        rows.Add(new GraphTableRow("output", "output", "output", "(" + string.Join(", ", graph.Outputs.Select(Display)) + ")", "{}"));
        return rows;
    }

    private static bool IsModule(Node node) =>
        node.OpType is "Conv" or "ConvTranspose" or "Gemm" or "MatMul" or "BatchNormalization" or "PRelu"
        && node.Inputs.Skip(1).Any(i => i is { IsConstant: true });

    // Values show as the module that produced them, as torch.fx names its nodes.
    private static string Display(Value? v) =>
        v is null ? "None" : v.Producer is { } p ? p.ModuleName : v.Name;

    /// <summary>
    /// The table as aligned text, one row per node, like torch.fx's print_tabular; with <paramref name="totalWidth"/>
    /// (a console's width) the widest columns are clipped with "…" until every line fits.
    /// </summary>
    public static string Format(IReadOnlyList<GraphTableRow> rows, int maxCellWidth = 60, int totalWidth = int.MaxValue)
    {
        string[] header = ["opcode", "name", "target", "args", "kwargs"];
        var cells = rows.Select(r => new[] { r.Opcode, r.Name, r.Target, r.Args, r.Kwargs }.Select(c => Clip(IO.TerminalText.Escape(c), maxCellWidth)).ToArray()).ToList();
        var natural = header.Select((h, i) => Math.Max(h.Length, cells.Count == 0 ? 0 : cells.Max(c => c[i].Length))).ToArray();
        var widths = ColumnFit.Fit(natural, header, totalWidth, separator: 2);
        cells = cells.Select(c => c.Select((v, i) => Clip(v, widths[i])).ToArray()).ToList();
        var sb = new StringBuilder();
        void Line(IReadOnlyList<string> values) =>
            sb.AppendLine(string.Join("  ", values.Select((v, i) => v.PadRight(widths[i]))).TrimEnd());
        Line(header);
        Line(widths.Select(w => new string('-', w)).ToArray());
        foreach (var c in cells)
        {
            Line(c);
        }
        return sb.ToString();
    }

    private static string Clip(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";
}

public sealed partial class Graph
{
    /// <summary>The graph table as aligned text (torch.fx's print_tabular).</summary>
    public string PrintTabular(int maxCellWidth = 60) => GraphTable.Format(GraphTable.Rows(this), maxCellWidth);
}
