using System.Text.RegularExpressions;
using Microsoft.ML.OnnxRuntime;
using SharpQuant.Cli;
using SharpQuant.Data;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Cli;

public class DemoCommandTests
{
    private static readonly string[] ModelFiles =
        ["resnet18-folded.onnx", "resnet18-equalized.onnx", "resnet18-no-cle-int8.onnx", "resnet18-cle-int8.onnx"];

    [Fact]
    public void WithoutImagesRunsTheDataFreeFlowAndWritesModelsPlotsAndTheReport()
    {
        using var temp = TestData.NewTempFolder();
        var folder = Path.Combine(temp.Path, "demo");
        var (code, stdout, stderr) = InspectCommandTests.Run("demo", "-o", folder);
        Assert.True(code == 0, stderr);

        // The flow's steps, in order, and what each shows.
        var steps = new[] { "1. load", "2. the graph", "3. fold BatchNorm", "4–5. find the layers", "6. describe", "7. ranges without images", "8. evaluate", "9. look", "10. sensitivity", "11. weight scales", "12. export", "13. the report", "total time" };
        var positions = steps.Select(s => stdout.IndexOf(s, StringComparison.Ordinal)).ToList();
        Assert.All(positions, p => Assert.True(p >= 0, stdout));
        Assert.Equal(positions.Order(), positions);
        Assert.Contains("22 BatchNorms folded", stdout);
        Assert.Contains("output 'Pooling395_Output_0': feature extractor: 512-d output, no classifier", stdout);
        Assert.Contains("evaluation needs images", stdout);
        Assert.Matches(new Regex(@"int8, without CLE: stage2\.block0\.conv1\.weight_fake_quant scale \(first 9 of 128 channels"), stdout);
        Assert.Matches(new Regex(@"int8, with CLE: stage2\.block0\.conv1\.weight_fake_quant scale \(first 9 of 128 channels"), stdout);

        foreach (var file in ModelFiles)
        {
            Assert.True(File.Exists(Path.Combine(folder, file)), file);
            Assert.Contains(Path.Combine(folder, file), stdout);
        }
        // The int8 export runs in stock ONNX Runtime.
        using (var session = new InferenceSession(Path.Combine(folder, "resnet18-cle-int8.onnx")))
        {
            using var input = OrtValue.CreateTensorValueFromMemory(TestModels.ResNet18Input(seed: 1).ToArray<float>(), [1, 3, 224, 224]);
            using var outputs = session.Run(new RunOptions(), [session.InputNames[0]], [input], session.OutputNames);
            Assert.Equal(512, outputs[0].GetTensorDataAsSpan<float>().Length);
        }

        var boxplot = PngImages.Decode(Path.Combine(folder, "plots", "stage2.block0.conv1.boxplot-compare.png"));
        Assert.True(boxplot.Height > 1000, "two panels, one above the other");
        foreach (var variant in new[] { "without-CLE", "with-CLE" })
        {
            var histogram = PngImages.Decode(Path.Combine(folder, "plots", variant, "stage2.block0.conv1.weight-hist.png"));
            Assert.True(PngImages.InkFraction(histogram, PngImages.Whole(histogram)) > 0.01);
        }

        var html = File.ReadAllText(Path.Combine(folder, "report.html"));
        Assert.Contains("SharpQuant demo: the default ResNet18", html);
        Assert.Contains("<th scope=\"row\">model kind</th><td>feature extractor: 512-d output, no classifier</td>", html);
        // Three figures embedded (the boxplot comparison and two weight histograms), nothing linked.
        Assert.Equal(3, Regex.Matches(html, "src=\"data:image/png;base64,").Count);
        Assert.DoesNotContain("http://", html);
        Assert.Contains("stage2.block0.conv1", html);
    }

    [SkippableFact]
    public void WithPhotosCalibratesEvaluatesAndDrawsActivationHistograms()
    {
        TestData.RequireSharedData();
        using var temp = TestData.NewTempFolder();
        var images = Directory.CreateDirectory(Path.Combine(temp.Path, "images")).FullName;
        foreach (var file in ImageFiles.List(TestData.ImagesFolder).Take(2))
        {
            File.Copy(file, Path.Combine(images, Path.GetFileName(file)));
        }
        var folder = Path.Combine(temp.Path, "demo");
        var (code, stdout, stderr) = InspectCommandTests.Run("demo", "--images", images, "-o", folder);
        Assert.True(code == 0, stderr);
        Assert.Contains("7. calibrate on the photos", stdout);
        foreach (var label in new[] { "without CLE", "with CLE" })
        {
            var cosine = double.Parse(Regex.Match(stdout, $@"int8, {label}: cosine ([0-9.]+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(cosine, 0.99, 1.0);
        }
        Assert.True(File.Exists(Path.Combine(folder, "plots", "with-CLE", "stage2.block0.relu1.activation-hist.png")));
        foreach (var variant in new[] { "without-CLE", "with-CLE" })
        {
            var weight = PngImages.Decode(Path.Combine(folder, "plots", variant, "stage2.block0.conv1.weight-sensitivity.png"));
            Assert.True(PngImages.InkFraction(weight, PngImages.Whole(weight)) > 0.01);
            Assert.True(File.Exists(Path.Combine(folder, "plots", variant, "stage2.block0.relu1.activation-sensitivity.png")));
        }
        var html = File.ReadAllText(Path.Combine(folder, "report.html"));
        // The backbone's fidelity: cosine, SQNR and max|Δ|, and no top-1 agreement or KL of its 512 features.
        Assert.Contains("output 'Pooling395_Output_0': feature extractor: 512-d output, no classifier", stdout);
        var evaluation = html[html.IndexOf("id=\"evaluation\"", StringComparison.Ordinal)..html.IndexOf("id=\"figures\"", StringComparison.Ordinal)];
        Assert.Contains("<th class=\"num\">SQNR (dB)</th><th class=\"num\">max|Δ|</th></tr>", evaluation);
        Assert.DoesNotContain("top-1 agreement</th>", evaluation);
        Assert.Contains("Top-1 agreement and KL divergence: n/a, not class scores", evaluation);
        // Boxplots, 2 weight and 2 activation histograms, and 4 sensitivity overlays (weight and activation, both models).
        Assert.Equal(9, Regex.Matches(html, "src=\"data:image/png;base64,").Count);
    }

    [Fact]
    public void MissingOrEmptyImageFolderIsOneErrorLine()
    {
        using var temp = TestData.NewTempFolder();
        var (code, stdout, stderr) = InspectCommandTests.Run("demo", "--images", Path.Combine(temp.Path, "nope"), "-o", temp.File("demo"));
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.False(Directory.Exists(temp.File("demo")), stdout);

        var empty = Directory.CreateDirectory(Path.Combine(temp.Path, "empty")).FullName;
        (code, _, stderr) = InspectCommandTests.Run("demo", "--images", empty, "-o", temp.File("demo2"));
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.False(Directory.Exists(temp.File("demo2")), "nothing is written when the data is bad");
    }
}
