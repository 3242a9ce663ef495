using SharpQuant.Passes;

namespace SharpQuant.Plots.Report;

/// <summary>
/// Section "Cross-layer equalization": the sets found (pairs and depthwise triples), every candidate that did not
/// form a set with the reason, and, when equalization ran, the per-layer spread of channel ranges before and after
/// and how the sweeps converged.
/// </summary>
public static class EqualizationSection
{
    /// <summary>More skipped candidates than this are folded away behind a summary line.</summary>
    public const int RejectedShownOpen = 8;

    /// <param name="discovery">The sets found (also when equalization did not run).</param>
    /// <param name="equalized">The pass report, or null when the model was not equalized.</param>
    /// <param name="options">The options the pass ran with (range mode, threshold), shown with the convergence.</param>
    public static ReportSection Build(EqualizationSetsReport discovery, EqualizeReport? equalized, EqualizationOptions? options = null)
    {
        options ??= new EqualizationOptions();
        var blocks = new List<ReportBlock>
        {
            new ReportParagraph(
                "Cross-layer equalization (Nagel et al. 2019) rescales output channel c of a layer by 1/s_c and the matching input " +
                "channel of the next layer by s_c, which leaves the float model unchanged (ReLU commutes with a positive scale) " +
                "but makes the channels' weight ranges alike, so one quantization grid fits them better. It applies to layer pairs " +
                "joined only by ReLU-like ops, and to depthwise triples."),
            new ReportParagraph($"{discovery.Sets.Count} set{Plural(discovery.Sets.Count)} found: {discovery.PairCount} pair{Plural(discovery.PairCount)} " +
                $"and {discovery.TripleCount} depthwise triple{Plural(discovery.TripleCount)}, printed as the PyTorch tutorial prints its CLE pairs:"),
            new ReportPreformatted(FormatSetsOnLines(discovery)),
        };

        if (equalized is null)
        {
            blocks.Add(new ReportParagraph("Equalization was not applied to this model (run the report with --equalize to apply it and compare).", ParagraphTone.Note));
        }
        else
        {
            blocks.Add(SpreadTable(equalized));
            blocks.Add(new ReportKeyValues([
                new("channel range", options.Ranges == RangeMode.MaxAbs ? "max |w| per channel (DFQ paper)" : "max − min per channel (PyTorch _equalize)"),
                new("convergence test", $"summed Frobenius norm of a sweep's weight changes < {ReportNumbers.Scale(options.Threshold)}"),
                new("sweeps", $"{equalized.Sweeps} ({(equalized.Converged ? "converged" : $"not converged within {options.MaxSweeps}")})"),
                new("weight change per sweep", equalized.SweepChanges.Count > 0 ? string.Join(" → ", equalized.SweepChanges.Select(ReportNumbers.Scale)) : ReportNumbers.Scale(equalized.FinalChange)),
                new("time", ReportNumbers.Duration(equalized.Elapsed)),
            ]));
            if (!equalized.Converged)
            {
                blocks.Add(new ReportParagraph($"Equalization stopped after {equalized.Sweeps} sweeps without meeting the threshold; the last sweep still changed the weights by {ReportNumbers.Scale(equalized.FinalChange)}.", ParagraphTone.Warning));
            }
            foreach (var change in equalized.ModelChanges)
            {
                blocks.Add(new ReportParagraph("Model change: " + change, ParagraphTone.Warning));
            }
        }

        if (discovery.Rejected.Count > 0)
        {
            var table = new ReportTable(["layer", "path followed", "why no set"],
                discovery.Rejected.Select(r => (IReadOnlyList<string>)[r.Layer, r.Path, r.Reason]).ToList());
            var summary = $"{discovery.Rejected.Count} candidate{Plural(discovery.Rejected.Count)} not equalized, with the reason";
            blocks.Add(discovery.Rejected.Count > RejectedShownOpen
                ? new ReportDetails("Show the " + summary, [table])
                : new ReportDetails(summary, [table], Open: true));
        }
        return new ReportSection(ReportFlow.Equalization, "Cross-layer equalization", blocks);
    }

    private static ReportTable SpreadTable(EqualizeReport report)
    {
        var rows = new List<IReadOnlyList<string>>();
        for (var i = 0; i < report.Sets.Count; i++)
        {
            foreach (var s in report.Sets[i].Spreads)
            {
                rows.Add([ReportNumbers.Integer(i + 1), s.Layer, ReportNumbers.Ratio(s.Before), ReportNumbers.Ratio(s.After), ReportNumbers.Ratio(s.Before / s.After)]);
            }
        }
        return new ReportTable(["set", "layer", "spread before", "spread after", "before / after"], rows)
        {
            NumericColumns = new HashSet<int> { 0, 2, 3, 4 },
            Caption = "Spread = largest / smallest per-output-channel weight range (max |w|) of the layer; 1 means all channels " +
                "share one range. A smaller spread wastes less of a per-tensor quantization grid; before / after above 1 means equalization " +
                "brought the channels closer together. A layer in two sets (the middle of a chain) is listed with each.",
        };
    }

    // One set per line: the one-line Python-style list is unreadable beyond a few sets.
    private static string FormatSetsOnLines(EqualizationSetsReport discovery) =>
        discovery.Sets.Count == 0 ? "[]" : "[" + string.Join(",\n ", discovery.Sets.Select(s => s.ToString())) + "]";

    private static string Plural(int n) => n == 1 ? "" : "s";
}
