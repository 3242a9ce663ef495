using Microsoft.ML.OnnxRuntime;
using SharpQuant.Plots.Report;

namespace SharpQuant.Cli;

/// <summary>
/// Makes the report's sections one at a time: a section whose work fails on the model (an op without a gradient rule,
/// a model without the statistics data-free ranges need) becomes <see cref="UnavailableSection"/> with the reason, a
/// warning line goes to stderr, and the report goes on. Sections that need the quantized models say so when those
/// could not be made.
/// </summary>
internal sealed class SectionFailures(TextWriter error)
{
    private string? _simFailure;

    public ReportSection Attempt(string id, Func<ReportSection> build)
    {
        try
        {
            return build();
        }
        catch (Exception e) when (e is SharpQuantException or OnnxRuntimeException)
        {
            error.WriteLine($"warning: report section '{UnavailableSection.HeadingOf(id)}' left out: {e.Message}");
            if (id == ReportFlow.Quantization)
            {
                _simFailure = e.Message;
            }
            return UnavailableSection.Build(id, e.Message);
        }
    }

    /// <summary>A section made from the quantized models, or the reason they are missing.</summary>
    public ReportSection NeedsSims(string id, List<ReportedSim>? sims, Func<List<ReportedSim>, ReportSection> build) =>
        sims is null
            ? UnavailableSection.Build(id, $"it needs the quantized model, which could not be made ({_simFailure?.TrimEnd('.') ?? "see the quantization section"})")
            : Attempt(id, () => build(sims));
}
