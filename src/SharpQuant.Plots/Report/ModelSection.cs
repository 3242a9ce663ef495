namespace SharpQuant.Plots.Report;

/// <summary>Section "Model": what was loaded (file, producer, opset, inputs and outputs, size, op counts).</summary>
public static class ModelSection
{
    public static ReportSection Build(GraphSummary summary, string modelPath)
    {
        var facts = new List<KeyValuePair<string, string>>
        {
            new("file", modelPath),
            new("graph name", summary.GraphName.Length > 0 ? summary.GraphName : "(none)"),
            new("producer", summary.Producer),
            new("opsets", string.Join(", ", summary.Opsets.Select(o => $"{o.Key} {o.Value}"))),
            new("inputs", string.Join("; ", summary.Inputs.Select(v => $"{v.Name} {v.ElementType} {v.Shape}"))),
            new("outputs", string.Join("; ", summary.Outputs.Select(v => $"{v.Name} {v.ElementType} {v.Shape}"))),
            new("nodes", ReportNumbers.Count(summary.NodeCount)),
            new("parameters", $"{ReportNumbers.Count(summary.ParameterCount)} ({ReportNumbers.Value(summary.ParameterBytes / BytesPerMiB)} MiB)"),
            new("ops", string.Join(", ", summary.OpCounts.Select(kv => $"{ReportNumbers.Count(kv.Value)} {kv.Key}"))),
        };
        var blocks = new List<ReportBlock>
        {
            new ReportParagraph("The model as loaded, before any change."),
            new ReportKeyValues(facts),
        };
        if (summary.UnknownOps.Count > 0)
        {
            blocks.Add(new ReportParagraph($"Ops SharpQuant does not know (passed through unchanged): {string.Join(", ", summary.UnknownOps)}.", ParagraphTone.Warning));
        }
        return new ReportSection(ReportFlow.Model, "Model", blocks);
    }

    private const double BytesPerMiB = 1024 * 1024;
}
