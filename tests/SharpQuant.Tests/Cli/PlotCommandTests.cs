using SharpQuant.Cli;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Cli;

public class PlotCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => InspectCommandTests.Run(args);

    [Fact]
    public void BoxplotsOfOneLayerAndAComparisonWithTheEqualizedModel()
    {
        using var temp = TestData.NewTempFolder();
        var (code, stdout, stderr) = Run("plot", "boxplots", "--layer", "stage2.block0.conv1", "-o", temp.File("single"));
        Assert.True(code == 0, stderr);
        var single = temp.File("single/stage2.block0.conv1.boxplot.png");
        Assert.Contains(single, stdout);
        Assert.Contains("wrote 1 image", stdout);
        using (var image = PngImages.Decode(single))
        {
            Assert.Equal(560, image.Height);
        }

        var equalized = temp.File("eq.onnx");
        Assert.Equal(0, Run("equalize", "-o", equalized).Code);
        (code, stdout, stderr) = Run("plot", "boxplots", "--layer", "stage2.block0.*", "--compare", equalized,
            "--label", "without CLE", "--compare-label", "with CLE", "-o", temp.File("compare"));
        Assert.True(code == 0, stderr);
        // stage2.block0 has conv1, conv2 and the downsample conv.
        Assert.Contains("wrote 3 images", stdout);
        var compare = temp.File("compare/stage2.block0.conv1.boxplot-compare.png");
        Assert.Contains(compare, stdout);
        using var pair = PngImages.Decode(compare);
        Assert.Equal(1120, pair.Height);
        Assert.True(PngImages.InkFraction(pair, new SkiaSharp.SKRectI(0, 0, pair.Width, 560)) > 0.05);
        Assert.True(PngImages.InkFraction(pair, new SkiaSharp.SKRectI(0, 560, pair.Width, 1120)) > 0.05);
    }

    [Fact]
    public void AnUnknownLayerIsOneLineWithCloseMatches()
    {
        using var temp = TestData.NewTempFolder();
        var (code, stdout, stderr) = Run("plot", "boxplots", "--layer", "stage2.block0.conv9", "-o", temp.Path);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Equal("", stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: no layer with a weight matches 'stage2.block0.conv9'; close matches: stage2.block0.conv1, stage2.block0.conv2", line);
        Assert.Empty(Directory.GetFiles(temp.Path));

        (code, _, stderr) = Run("plot", "histograms", "--layer", "stem.conv", "-o", temp.Path);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("close matches:", stderr);
    }

    [Fact]
    public void WeightHistogramsOfTheLayersMatched()
    {
        using var temp = TestData.NewTempFolder();
        var (code, stdout, stderr) = Run("plot", "histograms", "--layer", "stage1.block1.*", "-o", temp.Path);
        Assert.True(code == 0, stderr);
        Assert.Contains(temp.File("stage1.block1.conv1.weight-hist.png"), stdout);
        Assert.Contains(temp.File("stage1.block1.conv2.weight-hist.png"), stdout);
        Assert.Contains("wrote 2 images", stdout);
        using var image = PngImages.Decode(temp.File("stage1.block1.conv1.weight-hist.png"));
        Assert.Equal((1600, 820), (image.Width, image.Height));

        (code, _, stderr) = Run("plot", "histograms", "--compare", TestModels.ResNet18Path, "-o", temp.Path);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--compare is for boxplots", stderr);
    }

    [SkippableFact]
    public void ActivationHistogramsFromCalibrationImages()
    {
        TestData.RequireSharedData();
        using var temp = TestData.NewTempFolder();
        var (code, stdout, stderr) = Run("plot", "histograms", "--layer", "stage1.block0.relu1", "--images", TestData.ImagesFolder,
            "--count", "2", "--batch", "2", "--observer", "minmax", "-o", temp.Path);
        Assert.True(code == 0, stderr);
        Assert.Contains("measured activations on 2 images", stdout);
        var path = temp.File("stage1.block0.relu1.activation-hist.png");
        Assert.Contains(path, stdout);
        Assert.Contains("wrote 1 image", stdout);
        using var image = PngImages.Decode(path);
        Assert.InRange(PngImages.InkFraction(image, PngImages.Whole(image)), 0.05, 0.95);
    }

    [Fact]
    public void LimitCutsTheLastBatch()
    {
        var batches = new[] { Tensor.FromFloats([1, 2, 3, 4], 2, 2), Tensor.FromFloats([5, 6, 7, 8], 2, 2), Tensor.FromFloats([9, 10], 1, 2) };
        var limited = SharpQuant.Cli.Commands.PlotCommand.Limit(batches, 3).ToList();
        Assert.Equal(2, limited.Count);
        Assert.Equal([1, 2], limited[1].Shape);
        Assert.Equal([5f, 6f], limited[1].Floats.ToArray());
        Assert.Equal(3, SharpQuant.Cli.Commands.PlotCommand.Limit(batches, null).Count());
    }

    [Fact]
    public void CloseMatchesAreByEditDistance()
    {
        Assert.Equal(3, LayerSelection.Distance("kitten", "sitting"));
        Assert.Equal(0, LayerSelection.Distance("", ""));
        Assert.Equal(4, LayerSelection.Distance("", "conv"));
        var selection = new LayerSelection(["stage1.*", "stem?conv"]);
        Assert.True(selection.Matches("stage1.block0.conv1"));
        Assert.True(selection.Matches("stem.conv"));
        Assert.False(selection.Matches("stage2.block0.conv1"));
        Assert.True(new LayerSelection(null).Matches("anything"));
    }
}
