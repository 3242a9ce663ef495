using System.Text.Json;
using SharpQuant.Cli;
using SharpQuant.Data;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Cli;

public class SensitivityCommandTests
{
    [SkippableFact]
    public void PrintsTheTableAndTheLayersKeptInFloat()
    {
        TestData.RequireSharedData();
        using var temp = TestData.NewTempFolder();
        var images = Directory.CreateDirectory(temp.File("images")).FullName;
        var photo = ImageFiles.List(TestData.ImagesFolder)[0];
        File.Copy(photo, Path.Combine(images, Path.GetFileName(photo)));
        var table = temp.File("table.json");
        var (code, stdout, stderr) = InspectCommandTests.Run("sensitivity", "--images", images, "--layer", "stage4.block2.*", "--modes", "both",
            "--weights", "per-tensor", "--wbits", "4", "--target-sqnr", "200", "-o", table);
        Assert.True(code == 0, stderr);
        Assert.Contains("stage4.block2.conv1", stdout);
        Assert.Contains("kept in float", stdout);
        Assert.Contains("not met", stdout);
        using var json = JsonDocument.Parse(File.ReadAllText(table));
        var rows = json.RootElement.GetProperty("table").GetProperty("rows");
        Assert.Equal(3, rows.GetArrayLength());
        // Every row was kept in float and 200 dB was still out of reach: one step per row plus the all-quantized one.
        Assert.Equal(4, json.RootElement.GetProperty("accuracyAware").GetProperty("steps").GetArrayLength());
    }

    [Theory]
    [InlineData("--modes", "fast")]
    [InlineData("--max-accuracy-drop", "1")]
    public void RejectsBadOptionsWithOneErrorLine(params string[] extra)
    {
        var (code, _, stderr) = InspectCommandTests.Run(["sensitivity", "--images", ".", .. extra]);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.StartsWith("error: ", stderr);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
