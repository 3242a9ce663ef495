using SharpQuant.Quantization;

namespace SharpQuant.Plots.Report;

/// <summary>A quantized model shown in the report, with the label the reader sees (for example "int8, with CLE").</summary>
public sealed record ReportedSim(string Label, QuantSim Sim);

/// <summary>How the activation ranges were chosen: the data calibrated on, or data-free ranges from BatchNorm statistics.</summary>
/// <param name="Description">What was used, with the counts (for example "calibration set, 50 samples; split of 9 images ...").</param>
/// <param name="DataFree">The data-free ranges of one model, when no data was used.</param>
public sealed record CalibrationSummary(string Description, DataFreeRangeReport? DataFree = null);

/// <summary>
/// Section "Quantization and calibration": the qconfig (activation and weight specs, integer format), the quantizers
/// inserted into each model, and how activation ranges were chosen.
/// </summary>
public static class QuantizationSection
{
    /// <summary>The configuration rows of a single global qconfig: activation spec, weight spec and the integer format.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Describe(QConfig config, string integerFormat) =>
    [
        new("activations", config.Activation?.Describe() ?? "not quantized"),
        new("weights", config.Weight?.Describe() ?? "not quantized"),
        new("integer format", integerFormat),
    ];

    /// <param name="configuration">What was asked for, as rows (see <see cref="Describe"/> for a global qconfig).</param>
    public static ReportSection Build(IReadOnlyList<KeyValuePair<string, string>> configuration, IReadOnlyList<ReportedSim> sims, CalibrationSummary calibration)
    {
        var blocks = new List<ReportBlock>
        {
            new ReportParagraph(
                "QuantSim.Prepare inserts a FakeQuant node at every weight and after every layer's activation (after the ReLU that " +
                "follows a conv, never between them, and after each Add); each simulates q = clamp(round(x / s) + z, qmin, qmax), " +
                "x̂ = (q − z)·s in float."),
            new ReportKeyValues(configuration),
        };
        blocks.Add(new ReportTable(["model", "weight quantizers", "activation quantizers"], sims.Select(s => (IReadOnlyList<string>)[
            s.Label,
            ReportNumbers.Count(s.Sim.Quantizers.Count(q => q.Kind == QuantizerKind.Weight)),
            ReportNumbers.Count(s.Sim.Quantizers.Count(q => q.Kind == QuantizerKind.Activation)),
        ]).ToList())
        {
            NumericColumns = new HashSet<int> { 1, 2 },
        });

        if (calibration.DataFree is { } free)
        {
            blocks.Add(new ReportParagraph(
                "No images were given, so the activation ranges are data-free: each layer's pre-activation channel is taken as " +
                $"N(β, γ²) from its folded BatchNorm, its range is β ± {ReportNumbers.Value(DataFreeRanges.DefaultStandardDeviations)}·|γ|, " +
                "ReLU clips it at 0 and an Add sums the ranges of its inputs; the model input's range comes from the preprocessing. " +
                "Expect wider ranges than calibration on real images would give. " + calibration.Description,
                ParagraphTone.Note));
            blocks.Add(new ReportDetails($"Show the {free.Ranges.Count} data-free activation ranges", [
                new ReportTable(["quantizer", "lo", "hi", "derived from"], free.Ranges.Select(r => (IReadOnlyList<string>)[
                    r.Quantizer, ReportNumbers.Value(r.Lo), ReportNumbers.Value(r.Hi), r.Source,
                ]).ToList())
                {
                    NumericColumns = new HashSet<int> { 1, 2 },
                },
            ]));
            if (free.Skipped.Count > 0)
            {
                blocks.Add(new ReportTable(["left unquantized", "why"], free.Skipped.Select(s => (IReadOnlyList<string>)[s.Layer, s.Reason]).ToList()));
            }
        }
        else
        {
            blocks.Add(new ReportParagraph("Activation ranges were calibrated on " + calibration.Description + ".", ParagraphTone.Note));
        }
        return new ReportSection(ReportFlow.Quantization, "Quantization and calibration", blocks);
    }
}
