using SharpQuant.Analysis;
using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Analysis;

/// <summary>
/// Sensitivity on the folded ResNet18 with 4-bit per-tensor weights (so layers differ by many dB) and 8-bit
/// min-max activations, calibrated and measured on one photo to keep the many session builds affordable.
/// </summary>
public class LayerSensitivityTests
{
    private const int ResNet18ImageSize = 3 * 224 * 224;

    // Built once: every test restores the toggles it changes, so they can share the calibrated simulation.
    private static readonly Lazy<(QuantSim Sim, Graph Float, Tensor Image)> Calibrated = new(() =>
    {
        var batch = RealImages.ResNet18Batch();
        var image = Tensor.FromFloats(batch.Floats[..ResNet18ImageSize].ToArray(), 1, 3, 224, 224);
        var graph = TestModels.ResNet18().FoldBatchNorm();
        var config = new QConfig(
            new QuantSpec { Bits = 8, Signed = false, Scheme = QuantScheme.Affine, Observer = ObserverKind.MinMax },
            new QuantSpec { Bits = 4, Signed = true, Scheme = QuantScheme.Symmetric, Observer = ObserverKind.MinMax });
        var sim = QuantSim.Prepare(graph, new QConfigMapping().SetGlobal(config));
        sim.Calibrate([image]);
        return (sim, graph, image);
    });

    private static (QuantSim Sim, Graph Float, Tensor Image) Setup()
    {
        TestData.RequireSharedData();
        return Calibrated.Value;
    }

    private static bool[] Toggles(QuantSim sim) => sim.Quantizers.Select(q => q.FakeQuantEnabled).ToArray();

    [Fact]
    public void GroupsEachConvWithTheActivationThatEndsItsUnit()
    {
        var sim = QuantSim.Prepare(TestModels.ResNet18().FoldBatchNorm(), QConfigMapping.Default());
        sim.SetFakeQuant("*", true);
        var groups = LayerSensitivity.Group(sim);
        Assert.Equal(sim.Quantizers.Count, groups.Sum(g => g.Weights.Count + g.Activations.Count));
        Assert.Equal(22, groups.Count(g => g.Weights.Count == 1));
        // conv1 → ReLU → quantizer: one row with both kinds.
        var conv1 = Assert.Single(groups, g => g.Layer == "stage1.block0.conv1");
        Assert.Single(conv1.Activations);
        Assert.Single(conv1.Weights);
        Assert.All(groups, g => Assert.True(g.Weights.Count + g.Activations.Count > 0));
    }

    [SkippableFact]
    public void MeasuresEachLayerAloneAndSortsWorstFirst()
    {
        var (sim, graph, image) = Setup();
        // Something off before the measurement must stay off, and stay out of the table.
        const string Off = "stage4.block2.conv2.weight_fake_quant";
        sim[Off].FakeQuantEnabled = false;
        try
        {
            var before = Toggles(sim);
            using var sensitivity = new LayerSensitivity(sim, graph, [image]);
            var table = sensitivity.Measure(new SensitivityOptions { Layers = ["stage4.block2.*"] });

            Assert.Equal(before, Toggles(sim));
            Assert.Equal(["stage4.block2.conv1", "stage4.block2.conv2", "stage4.block2.relu2"], table.Rows.Select(r => r.Layer).Order());
            Assert.DoesNotContain(table.Rows, r => r.Quantizers.Contains(Off));
            Assert.Null(table.Rows.Single(r => r.Layer == "stage4.block2.conv2").WeightsSqnrDb);
            Assert.Equal(1, table.Rows.Count(r => r.WeightsSqnrDb is not null));
            // Three baselines, then conv1 in three modes and the two activation-only rows once each.
            Assert.Equal(3 + 3 + 1 + 1, table.Configurations);
            AssertTable(table);
        }
        finally
        {
            sim[Off].FakeQuantEnabled = true;
        }
    }

    private static void AssertTable(SensitivityTable table)
    {
        Assert.All(table.Rows, r =>
        {
            Assert.NotNull(r.BothSqnrDb);
            Assert.True(double.IsFinite(r.BothSqnrDb!.Value), $"{r.Layer}: both {r.BothSqnrDb}");
            Assert.True(r.WeightsSqnrDb is null || double.IsFinite(r.WeightsSqnrDb.Value), $"{r.Layer}: weights {r.WeightsSqnrDb}");
            Assert.True(r.ActivationsSqnrDb is null || double.IsFinite(r.ActivationsSqnrDb.Value), $"{r.Layer}: activations {r.ActivationsSqnrDb}");
        });
        Assert.Equal(table.Rows.OrderBy(r => r.BothSqnrDb).Select(r => r.Layer), table.Rows.Select(r => r.Layer));
        Assert.True(double.IsFinite(table.AllQuantizedSqnrDb));
        // One layer's 4-bit weights alone are less noise than all of them.
        Assert.All(table.Rows.Where(r => r.WeightsSqnrDb is not null), r =>
            Assert.True(r.WeightsSqnrDb > table.AllWeightsSqnrDb, $"{r.Layer}: {r.WeightsSqnrDb:F2} dB vs all weights {table.AllWeightsSqnrDb:F2} dB"));
        // Both kinds of one layer are noisier than either kind of it alone.
        Assert.All(table.Rows.Where(r => r is { WeightsSqnrDb: not null, ActivationsSqnrDb: not null }), r =>
            Assert.True(r.BothSqnrDb < Math.Max(r.WeightsSqnrDb!.Value, r.ActivationsSqnrDb!.Value), r.Layer));
    }

    [SkippableFact]
    public void AccuracyAwareModeKeepsTheWorstLayersFloatUntilTheTargetIsMet()
    {
        var (sim, graph, image) = Setup();
        var before = Toggles(sim);
        using var sensitivity = new LayerSensitivity(sim, graph, [image]);
        // Stage 4 holds the most sensitive layers at 4 bits; the rest would add session builds, not insight.
        var table = sensitivity.Measure(new SensitivityOptions { Modes = SensitivityModes.Both, Layers = ["stage4.*"] });
        Assert.Equal(1 + 10, table.Configurations);
        Assert.Equal(before, Toggles(sim));

        var target = table.AllQuantizedSqnrDb + 3;
        var result = sensitivity.KeepFloatUntil(table, QualityTarget.Sqnr(target));
        Assert.Equal(before, Toggles(sim));
        Assert.True(result.Met);
        Assert.NotEmpty(result.FloatLayers);
        Assert.Equal(table.Rows.Take(result.FloatLayers.Count).Select(r => r.Layer), result.FloatLayers);
        Assert.Null(result.Steps[0].FloatLayer);
        Assert.Equal(table.AllQuantizedSqnrDb, result.Steps[0].SqnrDb, 9);
        Assert.Equal(result.FloatLayers.Count + 1, result.Steps.Count);
        Assert.True(result.Steps[^1].SqnrDb >= target, $"{result.Steps[^1].SqnrDb:F2} dB < {target:F2} dB");
        Assert.All(result.Steps.SkipLast(1), s => Assert.False(s.Met));

        var met = sensitivity.KeepFloatUntil(table, QualityTarget.Sqnr(table.AllQuantizedSqnrDb - 1));
        Assert.True(met.Met);
        Assert.Empty(met.FloatLayers);
        Assert.Empty(met.FloatQuantizers);
        Assert.Single(met.Steps);
        Assert.Equal(before, Toggles(sim));

        // Applying the result turns off exactly the quantizers of the layers kept in float.
        try
        {
            result.ApplyTo(sim);
            Assert.Equal(result.FloatQuantizers.Order(), sim.Quantizers.Where(q => !q.FakeQuantEnabled).Select(q => q.Name).Order());
        }
        finally
        {
            sim.SetFakeQuant("*", true);
        }
    }

    [SkippableFact]
    public void AnAccuracyTargetNeedsLabels()
    {
        var (sim, graph, image) = Setup();
        using var sensitivity = new LayerSensitivity(sim, graph, [image]);
        var table = new SensitivityTable([], SensitivityModes.Both, 1, 0, null, null, 0, TimeSpan.Zero);
        Assert.Throws<SharpQuantException>(() => sensitivity.KeepFloatUntil(table, QualityTarget.AccuracyDrop(1)));
        Assert.Throws<SharpQuantException>(() => new LayerSensitivity(sim, graph, [image], [[0, 1]]));
    }
}
