namespace SharpQuant.Plots.Report;

/// <summary>
/// The section ids in the order of the flow (DESIGN.md: load, look at the graph, fold, equalize, quantize and
/// calibrate, evaluate, look at the tensors and at their sensitivity, inspect the parameters). A report lists its sections in this order.
/// </summary>
public static class ReportFlow
{
    public const string Model = "model";
    public const string Graph = "graph";
    public const string BatchNorm = "batchnorm";
    public const string Equalization = "equalization";
    public const string Quantization = "quantization";
    public const string Evaluation = "evaluation";
    public const string Figures = "figures";
    public const string Sensitivity = "sensitivity";
    public const string QuantizationParameters = "qparams";

    public static IReadOnlyList<string> Order { get; } =
        [Model, Graph, BatchNorm, Equalization, Quantization, Evaluation, Figures, Sensitivity, QuantizationParameters];

    /// <summary>The sections sorted into flow order (sections with other ids keep their place after the known ones).</summary>
    public static IReadOnlyList<ReportSection> Sort(IEnumerable<ReportSection> sections) =>
        sections.Select((s, i) => (Section: s, Rank: IndexOf(s.Id), Given: i))
            .OrderBy(t => t.Rank).ThenBy(t => t.Given)
            .Select(t => t.Section).ToList();

    private static int IndexOf(string id)
    {
        for (var i = 0; i < Order.Count; i++)
        {
            if (Order[i] == id)
            {
                return i;
            }
        }
        return Order.Count;
    }
}
