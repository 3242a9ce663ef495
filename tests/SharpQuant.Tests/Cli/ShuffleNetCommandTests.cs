using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Cli;

/// <summary>
/// ShuffleNetV2's channel split is a Slice whose bounds come from Shape arithmetic; its gradient used to stop
/// `report` and `plot sensitivity` ("needs input 1 to be a constant"). Loading now folds those bounds (and the Slice
/// rule takes computed ones too), so both commands finish.
/// </summary>
public class ShuffleNetCommandTests
{
    private static TempFolder WithTwoImages()
    {
        TestData.RequireSharedData();
        var temp = TestData.NewTempFolder();
        var images = Directory.CreateDirectory(temp.File("images")).FullName;
        foreach (var file in SharpQuant.Data.ImageFiles.List(TestData.ImagesFolder).Take(2))
        {
            File.Copy(file, Path.Combine(images, Path.GetFileName(file)));
        }
        return temp;
    }

    [SkippableFact]
    public void PlotSensitivityDrawsTheGradientOverlay()
    {
        var model = TestData.ZooModelPath("shufflenet_v2_x1_0");
        using var temp = WithTwoImages();
        var (code, stdout, stderr) = InspectCommandTests.Run("plot", "sensitivity", model, "--images", temp.File("images"), "--preset", "imagenet",
            "--count", "2", "--batch", "2", "--layer", "stage3.3.branch2.3", "-o", temp.File("plots"));
        Assert.True(code == 0, stderr);
        Assert.Contains("wrote 2 images", stdout);
        Assert.True(new FileInfo(temp.File(Path.Combine("plots", "stage3.3.branch2.3.weight-sensitivity.png"))).Length > 10_000);
        Assert.True(new FileInfo(temp.File(Path.Combine("plots", "stage3.3.branch2.3.activation-sensitivity.png"))).Length > 10_000);
    }

    [SkippableFact]
    public void ReportHasItsSensitivitySection()
    {
        var model = TestData.ZooModelPath("shufflenet_v2_x1_0");
        using var temp = WithTwoImages();
        var output = temp.File("report.html");
        var (code, stdout, stderr) = InspectCommandTests.Run("report", model, "--images", temp.File("images"), "--preset", "imagenet", "-o", output);
        Assert.True(code == 0, stderr);
        Assert.Contains("sensitivity analysis of", stdout);
        var html = File.ReadAllText(output);
        Assert.Contains("Sensitivity", html);
        Assert.Contains("data:image/png;base64", html);
    }
}
