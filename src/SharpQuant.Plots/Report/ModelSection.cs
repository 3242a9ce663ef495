using SharpQuant.Analysis;

namespace SharpQuant.Plots.Report;

/// <summary>
/// Section "Model": what was loaded (file, producer, opset, inputs and outputs, what the output is, size, op counts).
/// </summary>
public static class ModelSection
{
    /// <param name="output">What the (first) output is: a classifier's class count, or a feature extractor's dimensions.</param>
    public static ReportSection Build(GraphSummary summary, string modelPath, ModelOutput? output = null)
    {
        var facts = new List<KeyValuePair<string, string>>
        {
            new("file", modelPath),
            new("graph name", summary.GraphName.Length > 0 ? summary.GraphName : "(none)"),
            new("producer", summary.Producer),
            new("opsets", string.Join(", ", summary.Opsets.Select(o => $"{o.Key} {o.Value}"))),
            new("inputs", string.Join("; ", summary.Inputs.Select(v => $"{v.Name} {v.ElementType} {v.Shape}"))),
            new("outputs", string.Join("; ", summary.Outputs.Select(v => $"{v.Name} {v.ElementType} {v.Shape}"))),
        };
        if (output is not null)
        {
            facts.Add(new("model kind", output.Summary + (summary.Outputs.Count > 1 ? $" (the first output, {output.Name})" : "")));
        }
        facts.AddRange(
        [
            new("nodes", ReportNumbers.Count(summary.NodeCount)),
            new("parameters", $"{ReportNumbers.Count(summary.ParameterCount)} ({ReportNumbers.Value(summary.ParameterBytes / BytesPerMiB)} MiB)"),
            new("ops", string.Join(", ", summary.OpCounts.Select(kv => $"{ReportNumbers.Count(kv.Value)} {kv.Key}"))),
        ]);
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
