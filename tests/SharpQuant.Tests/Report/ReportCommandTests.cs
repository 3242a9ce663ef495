using System.Globalization;
using System.Text.RegularExpressions;
using SharpQuant.Cli;
using SharpQuant.Data;
using SharpQuant.Plots.Report;
using SharpQuant.Quantization;
using SharpQuant.Tests.Cli;
using SharpQuant.Tests.Support;
using Xunit.Abstractions;

namespace SharpQuant.Tests.Report;

public class ReportCommandTests(ITestOutputHelper output)
{
    /// <summary>The base64 of the PNG signature (its first 8 bytes).</summary>
    private const string PngSignatureBase64 = "iVBORw0KGgo";

    private static List<string> SectionIds(string html) =>
        Regex.Matches(html, "<section id=\"([^\"]+)\">").Select(m => m.Groups[1].Value).ToList();

    private static void AssertSelfContained(string html)
    {
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
        Assert.All(Regex.Matches(html, "src=\"([^\"]*)\"").Select(m => m.Groups[1].Value), s => Assert.StartsWith(HtmlReportWriter.PngDataUriPrefix, s));
    }

    /// <summary>
    /// The evaluation table's row of one model: label, cosine, worst cosine, SQNR, then for class scores agreement and
    /// KL, then max|Δ| (<paramref name="columns"/> numbers: 6 for class scores, 4 for other outputs).
    /// </summary>
    private static string[] EvaluationRow(string html, string label, int columns)
    {
        var row = Regex.Match(html, $"<tr><td>{Regex.Escape(HtmlReportWriter.Escape(label))}</td>((?:<td class=\"num\">[^<]*</td>){{{columns}}})</tr>");
        Assert.True(row.Success, $"no evaluation row for {label}");
        return Regex.Matches(row.Groups[1].Value, "<td class=\"num\">([^<]*)</td>").Select(m => m.Groups[1].Value).ToArray();
    }

    [Fact]
    public void DataFreeReportOnTheDefaultModel()
    {
        using var temp = TestData.NewTempFolder();
        var path = temp.File("report.html");
        var (code, stdout, stderr) = InspectCommandTests.Run("report", "-o", path);
        output.WriteLine(stdout);
        Assert.True(code == 0, stderr);
        Assert.Contains("data-free ranges for 33 activation quantizers", stdout);
        Assert.Contains($"wrote {path}", stdout);
        var html = File.ReadAllText(path);
        Assert.Equal(ReportFlow.Order, SectionIds(html));
        AssertSelfContained(html);
        Assert.Contains("No images were given, so the activation ranges are data-free", html);
        Assert.Contains("Not evaluated", html);
        Assert.Contains("22 BatchNormalization nodes folded into the layer before, 0 left in place", html);
        Assert.Contains("9 sets found: 9 pairs and 0 depthwise triples", html);
        Assert.Contains("Equalization was not applied", html);
        Assert.Contains("No sensitivity analysis: backpropagating the model output needs inputs", html);
        // One figure: the widest-spread set layer, stage3.block1.conv2 (spread 30.9), as a real PNG.
        var figure = Assert.Single(Regex.Matches(html, "src=\"data:image/png;base64,([^\"]+)\""));
        var png = Convert.FromBase64String(figure.Groups[1].Value);
        Assert.StartsWith(PngSignatureBase64, figure.Groups[1].Value);
        Assert.True(png.Length > 10_000);
        Assert.Contains("stage3.block1.conv2.weight_fake_quant", html);
        Assert.Single(Directory.GetFiles(temp.Path));
    }

    [SkippableFact]
    public void ReportWithThePhotosComparesWithoutAndWithCle()
    {
        TestData.RequireSharedData();
        using var temp = TestData.NewTempFolder();
        // Two photos: one calibrates (10 samples), the other evaluates (10 samples), which keeps the test quick.
        var images = Directory.CreateDirectory(temp.File("images")).FullName;
        foreach (var file in ImageFiles.List(TestData.ImagesFolder).Take(2))
        {
            File.Copy(file, Path.Combine(images, Path.GetFileName(file)));
        }
        var path = temp.File("out/report.html");
        var (code, stdout, stderr) = InspectCommandTests.Run(
            "report", "--images", images, "--equalize", "--observer", "minmax", "--layer", "stage2.block0.conv1", "--batch", "10", "-o", path);
        output.WriteLine(stdout);
        Assert.True(code == 0, stderr);
        Assert.Contains("equalized 9 sets in 2 sweeps", stdout);
        var html = File.ReadAllText(path);
        Assert.Equal(ReportFlow.Order, SectionIds(html));
        AssertSelfContained(html);
        Assert.Contains("10 samples: 5 crops of each of 1 image (1st, 3rd, … by name: astronaut.png) and their mirror images; the other 1 image of the folder is used only for evaluation", html);
        Assert.Contains("10 samples: 5 crops of each of 1 image (2nd, 4th, … by name: chelsea.png) and their mirror images", html);
        // ResNet18 is a backbone: the model section says so, and the evaluation leaves top-1 agreement and KL out.
        Assert.Contains("loaded " + SharpQuant.Models.DefaultModels.ResNet18Path + ": 74 nodes; feature extractor: 512-d output, no classifier", stdout);
        Assert.Contains("<th scope=\"row\">model kind</th><td>feature extractor: 512-d output, no classifier</td>", html);
        var evaluation = html[html.IndexOf("id=\"evaluation\"", StringComparison.Ordinal)..html.IndexOf("id=\"figures\"", StringComparison.Ordinal)];
        Assert.DoesNotContain("top-1 agreement</th>", evaluation);
        Assert.DoesNotContain("KL (nats)", evaluation);
        Assert.Contains("<th class=\"num\">SQNR (dB)</th><th class=\"num\">max|Δ|</th></tr>", evaluation);
        Assert.Contains("Top-1 agreement and KL divergence: n/a, not class scores: the output &#39;Pooling395_Output_0&#39; is a 512-d embedding (a feature extractor without a classifier).", evaluation);
        foreach (var label in new[] { "int8, no CLE", "int8, with CLE" })
        {
            var row = EvaluationRow(html, label, columns: 4);
            var cosine = double.Parse(row[0], CultureInfo.InvariantCulture);
            var sqnr = double.Parse(row[2], CultureInfo.InvariantCulture);
            // w8a8 on this backbone keeps its embedding close to the float one (README: cosine ≈ 0.998, SQNR ≈ 23–26 dB);
            // where this CPU needs 7-bit weights (no VNNI) the embedding loses about 4 dB (measured 17.9 dB on these
            // crops with the u8s8-reduced format against 22 dB and more with full 8-bit weights).
            var reduced = IntegerFormat.ForThisCpu().ReduceRange;
            Assert.InRange(cosine, reduced ? 0.985 : 0.99, 1.0);
            Assert.InRange(sqnr, reduced ? 15 : 18, 40);
            Assert.InRange(double.Parse(row[3], CultureInfo.InvariantCulture), 0, 10);   // max|Δ| of features of magnitude ~1–20
            Assert.Contains($"{label}: cosine {row[0]}, SQNR {row[2]} dB", stdout);
        }
        // The spreads of the chosen layer: 6.2 → 4.9 as in the README, in the legend and the scale table.
        Assert.Contains("<td>stage2.block0.conv1</td><td class=\"num\">6.2</td><td class=\"num\">4.9</td>", html);
        Assert.Matches("<td>int8, no CLE</td><td class=\"num\">128</td>(<td class=\"num\">[^<]*</td>){3}<td class=\"num\">6.2</td>", html);
        Assert.Matches("<td>int8, with CLE</td><td class=\"num\">128</td>(<td class=\"num\">[^<]*</td>){3}<td class=\"num\">4.9</td>", html);

        // Sensitivity: the chosen layer's weight and the activation after its ReLU, in both models, on one calibration batch.
        Assert.Contains("sensitivity analysis of stage2.block0.conv1: the sum of the model's outputs backpropagated on 10 samples", stdout);
        var sensitivity = html[html.IndexOf("id=\"sensitivity\"", StringComparison.Ordinal)..html.IndexOf("id=\"qparams\"", StringComparison.Ordinal)];
        Assert.Contains("the first calibration batch (10 samples)", sensitivity);
        Assert.Contains("straight through the rounding", sensitivity);
        foreach (var label in new[] { "int8, no CLE", "int8, with CLE" })
        {
            foreach (var quantizer in new[] { "stage2.block0.conv1.weight_fake_quant", "stage2.block0.relu1.activation_fake_quant" })
            {
                Assert.Contains($"<td>{HtmlReportWriter.Escape(label)}</td><td>{quantizer}</td>", sensitivity);
            }
        }
        Assert.Equal(4, Regex.Matches(sensitivity, "src=\"data:image/png;base64,").Count);
    }

    [SkippableFact]
    public void ReportOnRenderedTextLinesShowsAccuracy()
    {
        TestData.RequireSharedData();
        TestData.RequireFonts();
        using var temp = TestData.NewTempFolder();
        var path = temp.File("ppocr.html");
        var (code, stdout, stderr) = InspectCommandTests.Run("report", TestData.PpocrModelPath, "--text-orientation", "32", "--equalize", "--observer", "minmax", "-o", path);
        output.WriteLine(stdout);
        Assert.True(code == 0, stderr);
        var html = File.ReadAllText(path);
        Assert.Equal(ReportFlow.Order, SectionIds(html));
        Assert.Contains("64 rendered text lines (seed 2, half turned by 180°)", html);
        Assert.Contains("Top-1 accuracy against the labels.", html);
        // A classifier: its class count in the model section, and top-1 agreement and KL in the evaluation.
        Assert.Contains("<th scope=\"row\">model kind</th><td>classifier: 2 classes (probabilities, ends in Softmax)</td>", html);
        foreach (var label in new[] { "int8, no CLE", "int8, with CLE" })
        {
            var row = EvaluationRow(html, label, columns: 6);
            Assert.Matches(@"^\d+\.\d % \(\d+/32\)$", row[3]);
            Assert.True(double.Parse(row[4], CultureInfo.InvariantCulture) >= 0, row[4]);
        }
        Assert.DoesNotContain("n/a, not class scores", html);
        var accuracy = Regex.Matches(html, "<td class=\"num\">(\\d+\\.\\d) %</td><td class=\"num\">(\\d+)/32</td>");
        Assert.Equal(3, accuracy.Count);   // float, without CLE, with CLE
        Assert.All(accuracy, m => Assert.InRange(double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), 80, 100));
        Assert.Contains("2 depthwise triples", html);
    }

    [Fact]
    public void MissingModelIsBadInput()
    {
        using var temp = TestData.NewTempFolder();
        var (code, _, stderr) = InspectCommandTests.Run("report", temp.File("missing.onnx"), "-o", temp.File("r.html"));
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("does not exist", stderr);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Empty(Directory.GetFiles(temp.Path));
    }

    [Fact]
    public void TheOutputMayNotBeTheInput()
    {
        using var temp = TestData.NewTempFolder();
        var model = temp.File("model.onnx");
        File.Copy(TestModels.ResNet18Path, model);
        var before = File.ReadAllBytes(model);
        var (code, _, stderr) = InspectCommandTests.Run("report", model, "-o", model);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("is the input file", stderr);
        Assert.Equal(before, File.ReadAllBytes(model));
    }

    [Fact]
    public void AnUnwritableFolderFailsBeforeAnyWork()
    {
        using var temp = TestData.NewTempFolder();
        // A folder that cannot be created because a file has its name (tests run as root, so permissions would not stop it).
        var blocker = temp.File("blocker");
        File.WriteAllText(blocker, "a file, not a folder");
        var (code, stdout, stderr) = InspectCommandTests.Run("report", "-o", Path.Combine(blocker, "report.html"));
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("cannot write", stderr);
        Assert.Empty(stdout);   // nothing was loaded
    }

    [Fact]
    public void UsageErrorsAreOneLine()
    {
        using var temp = TestData.NewTempFolder();
        var (code, _, stderr) = InspectCommandTests.Run("report", "--images", temp.Path, "--text-orientation", "4", "-o", temp.File("r.html"));
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("exclude each other", stderr);
        (code, _, stderr) = InspectCommandTests.Run("report", "--text-orientation", "4", "-o", temp.File("r.html"));
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("needs the ppocr-cls model", stderr);
        (code, _, stderr) = InspectCommandTests.Run("report", "--layer", "no.such.layer", "-o", temp.File("r.html"));
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("no layer 'no.such.layer'", stderr);
        (code, _, stderr) = InspectCommandTests.Run("report");
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--output", stderr);
        Assert.Empty(Directory.GetFiles(temp.Path));
    }
}
