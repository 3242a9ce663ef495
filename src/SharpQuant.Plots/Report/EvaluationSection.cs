using SharpQuant.Analysis;

namespace SharpQuant.Plots.Report;

/// <summary>One quantized model's fidelity to the float model, and its accuracy when the data has labels.</summary>
public sealed record EvaluatedModel(string Label, FidelityReport Fidelity, AccuracyReport? Accuracy = null);

/// <summary>
/// Section "Evaluation": each quantized model's outputs against the float model's on the same inputs (cosine, SQNR,
/// max|Δ|, and where the outputs are class scores top-1 agreement and KL), and accuracy when the data has labels.
/// </summary>
public static class EvaluationSection
{
    /// <param name="data">What was evaluated on, with the counts; null when there was no data.</param>
    /// <param name="floatAccuracy">The float model's accuracy on labelled data.</param>
    /// <param name="output">
    /// What the float model's output is; when it is not class scores the table leaves top-1 agreement and KL out and
    /// says why. Without it, the reports themselves tell (<see cref="FidelityReport.ClassScores"/>).
    /// </param>
    public static ReportSection Build(string? data, IReadOnlyList<EvaluatedModel> models, AccuracyReport? floatAccuracy = null, ModelOutput? output = null)
    {
        if (data is null || models.Count == 0)
        {
            return new ReportSection(ReportFlow.Evaluation, "Evaluation", [
                new ReportParagraph("Not evaluated: comparing with the float model needs inputs. Give images (--images DIR) or, for the ppocr-cls model, rendered text lines (--text-orientation N).", ParagraphTone.Note),
            ]);
        }
        var classScores = output?.IsClassScores ?? models.All(m => m.Fidelity.ClassScores);
        var blocks = new List<ReportBlock> { new ReportParagraph($"Evaluated on {data}. Every model ran on the same inputs as the float model.") };
        if (classScores)
        {
            blocks.Add(new ReportTable(["model", "cosine", "worst cosine", "SQNR (dB)", "top-1 agreement", "KL (nats)", "max|Δ|"], models.Select(m => (IReadOnlyList<string>)[
                m.Label,
                ReportNumbers.Cosine(m.Fidelity.MeanCosine),
                ReportNumbers.Cosine(m.Fidelity.MinCosine),
                ReportNumbers.Decibels(m.Fidelity.SqnrDb),
                $"{ReportNumbers.Percent(m.Fidelity.Top1Agreement ?? double.NaN)} ({m.Fidelity.Top1Agreements}/{m.Fidelity.Samples})",
                ReportNumbers.Value(m.Fidelity.MeanKl ?? double.NaN),
                ReportNumbers.Value(m.Fidelity.MaxAbsDiff),
            ]).ToList())
            {
                NumericColumns = new HashSet<int> { 1, 2, 3, 4, 5, 6 },
                Caption = MetricsCaption + " Top-1 agreement: samples whose largest output is at the same index. KL: divergence of the " +
                    "per-sample softmax from the float one (outputs that already are probabilities are used as they are). max|Δ|: largest absolute output difference.",
            });
        }
        else
        {
            blocks.Add(new ReportTable(["model", "cosine", "worst cosine", "SQNR (dB)", "max|Δ|"], models.Select(m => (IReadOnlyList<string>)[
                m.Label,
                ReportNumbers.Cosine(m.Fidelity.MeanCosine),
                ReportNumbers.Cosine(m.Fidelity.MinCosine),
                ReportNumbers.Decibels(m.Fidelity.SqnrDb),
                ReportNumbers.Value(m.Fidelity.MaxAbsDiff),
            ]).ToList())
            {
                NumericColumns = new HashSet<int> { 1, 2, 3, 4 },
                Caption = MetricsCaption + " max|Δ|: largest absolute output difference.",
            });
            var what = output is null ? "the outputs are not class scores" : $"the output '{output.Name}' is {output.Nature}";
            blocks.Add(new ReportParagraph(
                $"Top-1 agreement and KL divergence: n/a, not class scores: {what}. The index of the largest value and a softmax " +
                "over the values mean something only where each value is one class's score; cosine, SQNR and max|Δ| hold for any output.",
                ParagraphTone.Note));
        }
        if (floatAccuracy is not null && models.All(m => m.Accuracy is not null))
        {
            var rows = new List<IReadOnlyList<string>> { AccuracyRow("float", floatAccuracy) };
            rows.AddRange(models.Select(m => AccuracyRow(m.Label, m.Accuracy!)));
            blocks.Add(new ReportTable(["model", "accuracy", "correct"], rows)
            {
                NumericColumns = new HashSet<int> { 1, 2 },
                Caption = "Top-1 accuracy against the labels.",
            });
        }
        return new ReportSection(ReportFlow.Evaluation, "Evaluation", blocks);
    }

    private const string MetricsCaption =
        "Fidelity to the float model. Cosine: mean over samples of the cosine similarity of the outputs (1 = same direction). " +
        "SQNR: 10·log10(Σy² / Σ(y − ŷ)²) over all outputs; higher is better, about 6 dB per bit.";

    private static IReadOnlyList<string> AccuracyRow(string label, AccuracyReport a) =>
        [label, ReportNumbers.Percent(a.Top1), $"{a.Top1Correct}/{a.Samples}"];
}
