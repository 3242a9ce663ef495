using System.Globalization;
using SharpQuant.Analysis;
using SharpQuant.Passes;
using SharpQuant.Plots.Report;
using SharpQuant.Quantization;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Report;

/// <summary>The section builders on the real default ResNet18: the numbers they show are the passes' numbers.</summary>
public class ReportSectionTests
{
    private const string Layer = "stage2.block0.conv1";

    private static readonly Lazy<(Graph Folded, FoldReport Fold, PassResult<EqualizeReport> Equalized)> Flow = new(() =>
    {
        var folded = new FoldBatchNorm().Run(TestModels.ResNet18());
        return (folded.Graph, folded.Report, new EqualizeCrossLayer().Run(folded.Graph));
    });

    private static IEnumerable<ReportBlock> Flatten(IEnumerable<ReportBlock> blocks) =>
        blocks.SelectMany(b => b is ReportDetails d ? Flatten(d.Blocks).Prepend(b) : [b]);

    [Fact]
    public void EqualizationShowsEverySetsSpreadsAndTheConvergence()
    {
        var (_, _, equalized) = Flow.Value;
        var report = equalized.Report;
        var section = EqualizationSection.Build(report.Discovery, report);
        Assert.Equal(ReportFlow.Equalization, section.Id);
        var spreads = Flatten(section.Blocks).OfType<ReportTable>().Single(t => t.Columns.Contains("spread before"));
        Assert.Equal(18, spreads.Rows.Count);   // 9 pairs, two layers each
        // The README's table: stage2.block0.conv2 goes from 30.2 to 14.0.
        var row = spreads.Rows.Single(r => r[1] == "stage2.block0.conv2");
        Assert.Equal(["3", "stage2.block0.conv2", "30.2", "14.0", "2.2"], row);
        var rejected = Flatten(section.Blocks).OfType<ReportTable>().Single(t => t.Columns.Contains("why no set"));
        Assert.Equal(report.Discovery.Rejected.Count, rejected.Rows.Count);

        // Each sweep's change is recorded; the last is the final change the convergence test saw.
        Assert.Equal(report.Sweeps, report.SweepChanges.Count);
        Assert.Equal(report.FinalChange, report.SweepChanges[^1]);
        Assert.True(report.SweepChanges[^1] < new EqualizationOptions().Threshold);
        var facts = section.Blocks.OfType<ReportKeyValues>().Single().Rows.ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal($"{report.Sweeps} (converged)", facts["sweeps"]);
        Assert.Equal(string.Join(" → ", report.SweepChanges.Select(ReportNumbers.Scale)), facts["weight change per sweep"]);
    }

    [Fact]
    public void WithoutEqualizationTheSetsAreListedAndTheReaderToldWhy()
    {
        var (folded, _, _) = Flow.Value;
        var section = EqualizationSection.Build(folded.FindEqualizationSets(), null);
        var text = string.Join("\n", Flatten(section.Blocks).OfType<ReportParagraph>().Select(p => p.Text));
        Assert.Contains("9 sets found: 9 pairs and 0 depthwise triples", text);
        Assert.Contains("was not applied", text);
        Assert.Contains("['stage2.block0.conv1', 'stage2.block0.conv2']", Flatten(section.Blocks).OfType<ReportPreformatted>().Single().Text);
    }

    [Fact]
    public void ChannelRangesMatchTheEqualizationReport()
    {
        var (folded, _, equalized) = Flow.Value;
        var spread = equalized.Report.Sets.SelectMany(s => s.Spreads).Single(s => s.Layer == Layer);
        Assert.Equal(spread.Before, ChannelRanges.Of(folded, Layer, "before").Spread, 12);
        Assert.Equal(spread.After, ChannelRanges.Of(equalized.Graph, Layer, "after").Spread, 12);
        Assert.Equal(128, ChannelRanges.Of(folded, Layer, "before").Ranges.Count);
        var e = Assert.Throws<SharpQuantException>(() => ChannelRanges.Of(folded, "no.such.layer", "x"));
        Assert.Contains("no layer 'no.such.layer'", e.Message);
    }

    [Fact]
    public void PerChannelScaleRatiosAreTheRangeSpreads()
    {
        // Symmetric per-channel int8 weights: scale_c = max|w_c| / 127.5, so the scales' largest / smallest is the
        // layer's range spread, without and with CLE (the tutorial's print_scale comparison).
        var (folded, _, equalized) = Flow.Value;
        var sims = new[]
        {
            new ReportedSim("no CLE", QuantSim.Prepare(folded, QConfigMapping.Default())),
            new ReportedSim("CLE", QuantSim.Prepare(equalized.Graph, QConfigMapping.Default())),
        };
        var section = QuantizerParametersSection.Build(sims, Layer + ".weight_fake_quant");
        var table = section.Blocks.OfType<ReportTable>().Single();
        var spreads = equalized.Report.Sets.SelectMany(s => s.Spreads).Single(s => s.Layer == Layer);
        Assert.Equal(["no CLE", "128"], table.Rows[0].Take(2));
        Assert.Equal(ReportNumbers.Ratio(spreads.Before), table.Rows[0][5]);
        Assert.Equal(ReportNumbers.Ratio(spreads.After), table.Rows[1][5]);
        Assert.Equal("0", table.Rows[1][6]);
        var scales = QParamsReport.Of(sims[0].Sim, Layer + ".weight_fake_quant").Single().Scale;
        Assert.Equal(ReportNumbers.Scale(scales.Min()), table.Rows[0][2]);
        Assert.Equal(ReportNumbers.Scale(scales.Max()), table.Rows[0][4]);
        // Every quantizer of each model is listed, folded away.
        var all = section.Blocks.OfType<ReportDetails>().Where(d => d.Summary.StartsWith("Show all", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, all.Count);
        Assert.Equal(sims[0].Sim.Quantizers.Count, ((ReportTable)all[0].Blocks[0]).Rows.Count);
    }

    [Fact]
    public void FoldingAndModelSectionsCarryThePassAndSummaryNumbers()
    {
        var (_, fold, _) = Flow.Value;
        var folding = FoldingSection.Build(fold);
        var folded = Flatten(folding.Blocks).OfType<ReportTable>().Single();
        Assert.Equal(22, folded.Rows.Count);
        Assert.StartsWith("22 BatchNormalization nodes folded", ((ReportParagraph)folding.Blocks[0]).Text);

        var graph = TestModels.ResNet18();
        var model = ModelSection.Build(GraphSummary.Of(graph), TestModels.ResNet18Path, ModelOutput.Of(graph));
        var facts = model.Blocks.OfType<ReportKeyValues>().Single().Rows.ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal("feature extractor: 512-d output, no classifier", facts["model kind"]);
        Assert.Equal(GraphSummary.Of(graph).ParameterCount.ToString("N0", CultureInfo.InvariantCulture), facts["parameters"].Split(' ')[0]);
        Assert.StartsWith("22 BatchNormalization, 22 Conv, 19 Relu, 9 Add", facts["ops"]);

        var table = GraphSection.Build(graph);
        var preview = table.Blocks.OfType<ReportTable>().Single();
        Assert.Equal(GraphSection.PreviewRows, preview.Rows.Count);
        Assert.Equal(["call_module", "stem.conv1", "stem.conv1"], preview.Rows[1].Take(3));
        var full = Flatten(table.Blocks).OfType<ReportPreformatted>().Single();
        Assert.Equal(graph.PrintTabular(), full.Text);
    }

    [Fact]
    public void EvaluationShowsTop1AgreementAndKlOnlyForClassScores()
    {
        // The same float model against a perturbed copy of its outputs, taken as the embedding it is and as scores.
        var graph = TestModels.ResNet18();
        using var executor = new SharpQuant.Runtime.GraphExecutor(graph);
        var reference = executor.Run(TestModels.ResNet18Input(seed: 9, batch: 2));
        var candidate = reference.Clone();
        candidate.Floats[3] += 0.5f;
        var embedding = new FidelityAccumulator(ModelOutput.Of(graph));
        embedding.Add(reference, candidate);
        var scores = new FidelityAccumulator();
        scores.Add(reference, candidate);

        var backbone = EvaluationSection.Build("two inputs", [new EvaluatedModel("int8", embedding.Report())], output: embedding.Output);
        var table = backbone.Blocks.OfType<ReportTable>().Single();
        Assert.Equal(["model", "cosine", "worst cosine", "SQNR (dB)", "max|Δ|"], table.Columns);
        Assert.Equal(ReportNumbers.Value(0.5), table.Rows[0][4]);
        var note = backbone.Blocks.OfType<ReportParagraph>().Single(p => p.Tone == ParagraphTone.Note);
        Assert.StartsWith("Top-1 agreement and KL divergence: n/a, not class scores: the output 'Pooling395_Output_0' is a 512-d embedding", note.Text);

        var classifier = EvaluationSection.Build("two inputs", [new EvaluatedModel("int8", scores.Report())]);
        table = classifier.Blocks.OfType<ReportTable>().Single();
        Assert.Equal(["model", "cosine", "worst cosine", "SQNR (dB)", "top-1 agreement", "KL (nats)", "max|Δ|"], table.Columns);
        Assert.Equal("100.0 % (2/2)", table.Rows[0][4]);
        Assert.DoesNotContain(classifier.Blocks, b => b is ReportParagraph { Tone: ParagraphTone.Note });
    }

    [Fact]
    public void EvaluationWithoutDataSaysSo()
    {
        var section = EvaluationSection.Build(null, []);
        var note = Assert.IsType<ReportParagraph>(Assert.Single(section.Blocks));
        Assert.Equal(ParagraphTone.Note, note.Tone);
        Assert.Contains("Not evaluated", note.Text);
    }

    [Fact]
    public void SensitivityShowsTheGradientItUsesATableAndOneFigurePerQuantizer()
    {
        var none = SensitivitySection.Build([], null);
        Assert.Equal(ReportFlow.Sensitivity, none.Id);
        Assert.Equal(ParagraphTone.Note, Assert.IsType<ReportParagraph>(Assert.Single(none.Blocks)).Tone);

        var (sim, x, _) = Analysis.SensitivityAnalysisTests.TinyModel();
        var run = SharpQuant.Analysis.SensitivityAnalysis.Run(sim, [x]);
        var section = SensitivitySection.Build([new ReportedSensitivity("tiny", run)], "two random inputs");
        var intro = Assert.IsType<ReportParagraph>(section.Blocks[0]);
        Assert.Contains("two random inputs", intro.Text);
        Assert.Contains("gradient of the sum of the model's outputs with respect to each quantizer's float input", intro.Text);
        var table = section.Blocks.OfType<ReportTable>().Single();
        Assert.Equal(3, table.Rows.Count);   // the conv weight, the ReLU output, the input
        Assert.Equal(run.Weights[0].Quantizer.Name, table.Rows[0][1]);
        Assert.Equal("6", table.Rows[0][2]);     // 2 × 3 weights
        // The ReLU output (2 × 2 × 5 × 4 values) and the input (2 × 3 × 5 × 4), in the order the quantizers were inserted.
        Assert.Equal(["80", "120"], table.Rows.Skip(1).Select(r => r[2]).OrderBy(int.Parse));
        var figures = section.Blocks.OfType<ReportFigure>().ToList();
        Assert.Equal(3, figures.Count);
        Assert.All(figures, f => Assert.True(f.Png.Length > 10_000));
        Assert.Contains("sensitivity (green)", figures[0].Caption);
    }
}
