using SharpQuant.Analysis;
using SharpQuant.Passes;
using SharpQuant.Plots;
using SharpQuant.Quantization;
using SharpQuant.Tests.Support;
using SkiaSharp;

namespace SharpQuant.Tests.Plots;

public class FigureTests
{
    private static SKColor Skia(ScottPlot.Color c) => new(c.R, c.G, c.B);

    [Fact]
    public void ABoxplotIsSizedByItsChannelsAndDrawn()
    {
        using var temp = TestData.NewTempFolder();
        var conv = TestModels.ResNet18().FoldBatchNorm().FindNode("stage2.block0.conv1")!;
        var path = temp.File("box.png");
        ChannelBoxplotFigure.Save("stage2.block0.conv1 — test", ChannelBoxStats.OfLayer(conv), path);
        using var image = PngImages.Decode(path);
        Assert.Equal((ChannelBoxplotFigure.WidthFor(128), ChannelBoxplotFigure.PanelHeight), (image.Width, image.Height));
        Assert.InRange(PngImages.InkFraction(image, PngImages.Whole(image)), 0.05, 0.9);
        Assert.Equal(1000, ChannelBoxplotFigure.WidthFor(16));
        Assert.Equal(2248, ChannelBoxplotFigure.WidthFor(512));
        Assert.Equal(16, ChannelBoxplotFigure.TickInterval(512));
        Assert.Equal(1, ChannelBoxplotFigure.TickInterval(32));
    }

    [Fact]
    public void AComparisonHasTwoDrawnPanelsOnOneValueScale()
    {
        using var temp = TestData.NewTempFolder();
        var graph = TestModels.ResNet18().FoldBatchNorm();
        var equalized = graph.Equalize(null, out _);
        var before = ChannelBoxStats.OfLayer(graph.FindNode("stage2.block0.conv1")!);
        var after = ChannelBoxStats.OfLayer(equalized.FindNode("stage2.block0.conv1")!);
        var path = temp.File("compare.png");
        ChannelBoxplotFigure.SaveComparison("without CLE", before, "with CLE", after, path);
        using var image = PngImages.Decode(path);
        Assert.Equal(2 * ChannelBoxplotFigure.PanelHeight, image.Height);
        // Both panels drawn (a later panel must not wipe an earlier one).
        var h = ChannelBoxplotFigure.PanelHeight;
        Assert.True(PngImages.InkFraction(image, new SKRectI(0, 0, image.Width, h)) > 0.05);
        Assert.True(PngImages.InkFraction(image, new SKRectI(0, h, image.Width, 2 * h)) > 0.05);
        var (low, high) = ChannelBoxplotFigure.ValueLimits(before, after);
        Assert.True(low < Math.Min(before.Min(b => b.Min), after.Min(b => b.Min)));
        Assert.True(high > Math.Max(before.Max(b => b.Max), after.Max(b => b.Max)));
    }

    [Fact]
    public void AHistogramHasItsInsetAndOnlyWithGradientsTheGreenOverlay()
    {
        using var temp = TestData.NewTempFolder();
        var sim = QuantSim.Prepare(TestModels.ResNet18().FoldBatchNorm(), QConfigMapping.Default());
        var quantizer = sim["stage1.block0.conv2.weight_fake_quant"];
        var weight = quantizer.Input.ConstantValue!;
        var plain = temp.File("plain.png");
        QuantGridHistogramFigure.Save(WeightHistograms.Of(quantizer), new QuantGridHistogramFigure.Labels("plain", "weights"), plain);
        // A synthetic gradient (the overlay must take any array): 3·w², so its mass sits in the tails.
        var gradient = Tensor.FromFloats(weight.Floats.ToArray().Select(w => 3 * w * w).ToArray(), [.. weight.Shape]);
        var overlay = temp.File("overlay.png");
        QuantGridHistogramFigure.Save(WeightHistograms.Of(quantizer, gradient), new QuantGridHistogramFigure.Labels("overlay", "weights"), overlay);

        using var a = PngImages.Decode(plain);
        using var b = PngImages.Decode(overlay);
        Assert.Equal((QuantGridHistogramFigure.Width, QuantGridHistogramFigure.Height), (a.Width, a.Height));
        Assert.InRange(PngImages.InkFraction(a, PngImages.Whole(a)), 0.05, 0.95);
        var leftInset = new SKRectI(QuantGridHistogramFigure.InsetMarginX, QuantGridHistogramFigure.InsetMarginY,
            QuantGridHistogramFigure.InsetMarginX + QuantGridHistogramFigure.InsetWidth, QuantGridHistogramFigure.InsetMarginY + QuantGridHistogramFigure.InsetHeight);
        Assert.True(PngImages.CountNear(a, leftInset, Skia(QuantGridHistogramFigure.ValueColor), 10) > 1000, "the intra-bin inset's bars");
        var rightInset = new SKRectI(QuantGridHistogramFigure.Width - QuantGridHistogramFigure.InsetMarginX / 2 - QuantGridHistogramFigure.InsetWidth, QuantGridHistogramFigure.InsetMarginY,
            QuantGridHistogramFigure.Width - QuantGridHistogramFigure.InsetMarginX / 2, QuantGridHistogramFigure.InsetMarginY + QuantGridHistogramFigure.InsetHeight);
        var green = Skia(QuantGridHistogramFigure.GradientColor);
        Assert.Equal(0, PngImages.CountNear(a, PngImages.Whole(a), green, 10));
        Assert.True(PngImages.CountNear(b, rightInset, green, 10) > 1000, "the sensitivity inset's bars");
    }

    [Fact]
    public void TinyClampedMassesAreNotShownAsZero()
    {
        var h = new QuantGridHistogram(0, 3);
        h.Add(new float[200_000], 1, 0);
        Assert.Equal("0 %", QuantGridHistogramFigure.ClampedText(h));
        h.Add([10f], 1, 0);
        Assert.Equal("< 0.001 % (1 value)", QuantGridHistogramFigure.ClampedText(h));
        h.Add(Enumerable.Repeat(10f, 999).ToArray(), 1, 0);
        Assert.Equal("0.498 %", QuantGridHistogramFigure.ClampedText(h));
    }

    [Fact]
    public void ModelFiguresNameFilesAfterModules()
    {
        using var temp = TestData.NewTempFolder();
        var sim = QuantSim.Prepare(TestModels.ResNet18().FoldBatchNorm(), QConfigMapping.Default());
        var written = ModelFigures.WriteWeightHistograms(sim, temp.Path, q => q.Target.StartsWith("stage1.block0.", StringComparison.Ordinal));
        Assert.Equal([temp.File("stage1.block0.conv1.weight-hist.png"), temp.File("stage1.block0.conv2.weight-hist.png")], written);
        Assert.All(written, f => Assert.True(new FileInfo(f).Length > 10_000));
        Assert.Equal("a_b_c.x.png", FigureFileNames.For("a/b:c", ".x"));
        Assert.Equal("_.hidden.png", FigureFileNames.For(".hidden", ""));
    }
}
