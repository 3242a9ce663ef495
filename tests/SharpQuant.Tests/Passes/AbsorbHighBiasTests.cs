using SharpQuant.Analysis;
using SharpQuant.Passes;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Passes;

public class AbsorbHighBiasTests
{
    [SkippableFact]
    public void ResNet18ReportsTheZeroPaddingCaveatByDefault()
    {
        var graph = TestModels.ResNet18().FoldBatchNorm().Equalize();
        var result = new AbsorbHighBias().Run(graph);
        Assert.Empty(result.Report.Absorbed);
        Assert.Equal(9, result.Report.Skipped.Count);
        Assert.All(result.Report.Skipped, s => Assert.Contains("pads its input with zeros", s.Reason));
    }

    [SkippableFact]
    public void ResNet18PreActivationsGoNegativeOnRealPhotosSoNothingIsAbsorbed()
    {
        var images = RealImages.ResNet18Batch();
        var graph = TestModels.ResNet18().FoldBatchNorm().Equalize();
        var minima = PreActivationMinima.Measure(graph, [images]);
        var result = new AbsorbHighBias(new AbsorbHighBiasOptions { MeasuredMinima = minima, AllowZeroPaddedConsumer = true }).Run(graph);
        Assert.Equal(9, result.Report.Absorbed.Count);
        // Measured on real photos every channel of every conv1 goes below zero somewhere: c = 0 everywhere.
        Assert.All(result.Report.Absorbed, a => Assert.Equal(0, a.Channels));
        Invariance.AssertPreserved(graph, result.Graph, images);
    }

    [SkippableFact]
    public void PpocrAbsorptionFromBatchNormStatisticsIntoUnpaddedLayers()
    {
        var images = RealImages.PpocrBatch();
        var graph = TestModels.Ppocr().FoldBatchNorm().Equalize();
        var result = new AbsorbHighBias().Run(graph);
        Assert.NotEmpty(result.Report.Absorbed);
        Assert.All(result.Report.Absorbed, a => Assert.Equal("BatchNorm β − 3·|γ|", a.Source));

        var minima = PreActivationMinima.Measure(graph, [images]);
        var exact = new AbsorbHighBias(new AbsorbHighBiasOptions { MeasuredMinima = minima }).Run(graph);
        Assert.NotEmpty(exact.Report.Absorbed);
        Invariance.AssertPreserved(graph, exact.Graph, images);
    }
}
