using SharpQuant.Analysis;

namespace SharpQuant.Cli;

/// <summary>
/// The <c>--json</c> forms of what a model's output is and of a fidelity report: top-1 agreement and KL appear only
/// where the outputs are class scores, instead of as nulls beside numbers that do hold.
/// </summary>
public static class OutputJson
{
    public static object Of(ModelOutput output) => new
    {
        name = output.Name,
        kind = KindName(output.Kind),
        size = output.Size,
        shape = output.Shape,
        classScores = output.IsClassScores,
        summary = output.Summary,
    };

    public static object Of(FidelityReport r) => r.ClassScores
        ? r
        : new { r.Samples, r.SampleSize, r.MeanCosine, r.MinCosine, r.SqnrDb, r.MaxAbsDiff, top1AndKl = "n/a: not class scores" };

    /// <summary>Kebab case, as the command line writes its other names: "class-probabilities", "feature-map".</summary>
    public static string KindName(OutputKind kind) => kind switch
    {
        OutputKind.ClassLogits => "class-logits",
        OutputKind.ClassProbabilities => "class-probabilities",
        OutputKind.Embedding => "embedding",
        OutputKind.FeatureMap => "feature-map",
        _ => "other",
    };
}
