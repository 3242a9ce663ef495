using SharpQuant.Cli;
using SharpQuant.Plots;
using SharpQuant.Tests.Support;
using SkiaSharp;

namespace SharpQuant.Tests.Cli;

public class PlotSensitivityCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => InspectCommandTests.Run(args);

    private static SKColor Green => new(
        QuantGridHistogramFigure.GradientColor.R, QuantGridHistogramFigure.GradientColor.G, QuantGridHistogramFigure.GradientColor.B);

    // The sensitivity inset, upper right (as QuantGridHistogramFigure places it).
    private static SKRectI RightInset => new(
        QuantGridHistogramFigure.Width - QuantGridHistogramFigure.InsetMarginX / 2 - QuantGridHistogramFigure.InsetWidth, QuantGridHistogramFigure.InsetMarginY,
        QuantGridHistogramFigure.Width - QuantGridHistogramFigure.InsetMarginX / 2, QuantGridHistogramFigure.InsetMarginY + QuantGridHistogramFigure.InsetHeight);

    [SkippableFact]
    public void WeightAndActivationSensitivityOfTwoPhotos()
    {
        TestData.RequireSharedData();
        using var temp = TestData.NewTempFolder();
        var (code, stdout, stderr) = Run("plot", "sensitivity", "--images", TestData.ImagesFolder, "--count", "2", "--batch", "2",
            "--layer", "stage1.block0.conv1", "--layer", "stage1.block0.relu1", "--gradient-of", "top1", "-o", temp.Path);
        Assert.True(code == 0, stderr);
        Assert.Contains("backpropagated each sample's largest (top-1) output on 2 images", stdout);
        Assert.Contains("straight through", stdout);
        Assert.Contains("wrote 2 images", stdout);
        var weight = temp.File("stage1.block0.conv1.weight-sensitivity.png");
        var activation = temp.File("stage1.block0.relu1.activation-sensitivity.png");
        Assert.Contains(weight, stdout);
        Assert.Contains(activation, stdout);
        foreach (var path in new[] { weight, activation })
        {
            using var image = PngImages.Decode(path);
            Assert.Equal((QuantGridHistogramFigure.Width, QuantGridHistogramFigure.Height), (image.Width, image.Height));
            Assert.True(PngImages.CountNear(image, RightInset, Green, 10) > 1000, $"{path}: the sensitivity inset's bars");
            // The overlay itself, below the insets: green fill (drawn half transparent, so near the colour, not on it).
            var main = new SKRectI(0, QuantGridHistogramFigure.InsetMarginY + QuantGridHistogramFigure.InsetHeight, image.Width, image.Height - 60);
            Assert.True(PngImages.CountNear(image, main, Green, 60) > 500, $"{path}: the green overlay in the main plot");
        }
    }

    [SkippableFact]
    public void AnUnknownLayerIsOneLineAndImagesAreRequired()
    {
        TestData.RequireSharedData();
        using var temp = TestData.NewTempFolder();
        var (code, stdout, stderr) = Run("plot", "sensitivity", "--images", TestData.ImagesFolder, "--layer", "stage1.block0.relu9", "-o", temp.Path);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Equal("", stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: no layer or activation matches 'stage1.block0.relu9'; close matches: stage1.block0.relu1", line);
        Assert.Empty(Directory.GetFiles(temp.Path));

        (code, _, stderr) = Run("plot", "sensitivity", "-o", temp.Path);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--images", stderr);

        (code, _, stderr) = Run("plot", "sensitivity", "--images", temp.File("no-such-folder"), "-o", temp.Path);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
