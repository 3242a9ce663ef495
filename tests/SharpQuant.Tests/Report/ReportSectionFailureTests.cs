using System.Text.RegularExpressions;
using SharpQuant.Onnx;
using SharpQuant.Plots.Report;
using SharpQuant.Tests.Cli;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Report;

/// <summary>
/// A report section that cannot be made is replaced by its reason and the rest of the report is written: here the
/// sensitivity analysis of a model whose gradient has no rule for one op (a Slice with step 2), and the quantization
/// of a model whose data-free ranges have no BatchNorm statistics to come from.
/// </summary>
public class ReportSectionFailureTests
{
    private static List<string> SectionIds(string html) =>
        Regex.Matches(html, "<section id=\"([^\"]+)\">").Select(m => m.Groups[1].Value).ToList();

    private static string SectionHtml(string html, string id)
    {
        var start = html.IndexOf($"<section id=\"{id}\">", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no section {id}");
        return html[start..html.IndexOf("</section>", start, StringComparison.Ordinal)];
    }

    [SkippableFact]
    public void ASensitivityAnalysisThatFailsIsReplacedByItsReason()
    {
        TestData.RequireSharedData();
        using var temp = TestData.NewTempFolder();
        var images = Directory.CreateDirectory(temp.File("images")).FullName;
        foreach (var file in SharpQuant.Data.ImageFiles.List(TestData.ImagesFolder).Take(2))
        {
            File.Copy(file, Path.Combine(images, Path.GetFileName(file)));
        }
        var model = temp.File("strided-slice.onnx");
        OnnxModel.Save(StridedSliceModel(), model);
        var path = temp.File("report.html");
        var (code, stdout, stderr) = InspectCommandTests.Run("report", model, "--images", images, "--preset", "imagenet", "-o", path);
        Assert.True(code == 0, stderr);
        Assert.Contains("warning: report section 'Sensitivity analysis' left out:", stderr);
        Assert.Contains("only unit steps have a backward rule", stderr);
        Assert.Contains($"wrote {path}", stdout.ReplaceLineEndings(""));

        var html = File.ReadAllText(path);
        Assert.Equal(ReportFlow.Order, SectionIds(html));
        var sensitivity = SectionHtml(html, ReportFlow.Sensitivity);
        Assert.Contains("This section could not be made", sensitivity);
        Assert.Contains("only unit steps have a backward rule", sensitivity);
        // The sections before and after it are the usual ones: the evaluation has its SQNR, the parameters their scales.
        Assert.Contains("SQNR", SectionHtml(html, ReportFlow.Evaluation));
        Assert.DoesNotContain("could not be made", SectionHtml(html, ReportFlow.Evaluation));
        Assert.Contains("weight_fake_quant", SectionHtml(html, ReportFlow.QuantizationParameters));
    }

    [Fact]
    public void AQuantizationThatCannotBeMadeLeavesTheSectionsThatNeedItWithTheReason()
    {
        using var temp = TestData.NewTempFolder();
        var model = temp.File("no-statistics.onnx");
        OnnxModel.Save(StridedSliceModel(), model);
        var path = temp.File("report.html");
        var (code, stdout, stderr) = InspectCommandTests.Run("report", model, "-o", path);
        Assert.True(code == 0, stderr);
        Assert.Contains("warning: report section 'Quantization and calibration' left out: data-free quantization needs BatchNorm statistics", stderr);

        var html = File.ReadAllText(path);
        Assert.Equal(ReportFlow.Order, SectionIds(html));
        Assert.Contains("needs BatchNorm statistics", SectionHtml(html, ReportFlow.Quantization));
        foreach (var id in new[] { ReportFlow.Evaluation, ReportFlow.Sensitivity, ReportFlow.QuantizationParameters })
        {
            Assert.Contains("it needs the quantized model, which could not be made (data-free quantization needs BatchNorm statistics", SectionHtml(html, id));
        }
        // What needs no quantization is there: the model, its graph, folding, equalization and the weight figure.
        Assert.Contains("data:image/png;base64", SectionHtml(html, ReportFlow.Figures));
        Assert.DoesNotContain("could not be made", SectionHtml(html, ReportFlow.Equalization));
    }

    /// <summary>x [1, 3, 224, 224] → Conv → ReLU → Conv → every other channel (Slice, step 2) → GlobalAveragePool.</summary>
    private static Graph StridedSliceModel()
    {
        var g = new Graph();
        g.Info.OnnxOpset = 13;
        Value x = g.AddInput("x", ElementType.Float, [1, 3, 224, 224]);
        var strided = new Dictionary<string, AttributeValue> { ["strides"] = AttributeValue.Of([4L, 4]) };
        x = g.AddNode("Conv", [x, g.AddConstant("conv1.weight", Compare.RandomTensor(1, -1, 1, 8, 3, 3, 3)), g.AddConstant("conv1.bias", Compare.RandomTensor(2, -1, 1, 8))], moduleName: "conv1", attributes: strided).Output;
        x = g.AddNode("Relu", [x], moduleName: "relu1").Output;
        Value Ints(string name, params long[] v) => g.AddConstant(name, Tensor.Create(v, v.Length));
        x = g.AddNode("Conv", [x, g.AddConstant("conv2.weight", Compare.RandomTensor(3, -1, 1, 4, 8, 1, 1)), g.AddConstant("conv2.bias", Compare.RandomTensor(4, -1, 1, 4))], moduleName: "conv2").Output;
        // After both layers, so the gradient of any layer's quantizers passes through it.
        x = g.AddNode("Slice", [x, Ints("starts", 0), Ints("ends", 4), Ints("axes", 1), Ints("steps", 2)], moduleName: "every_other").Output;
        g.AddOutput(g.AddNode("GlobalAveragePool", [x], moduleName: "pool").Output);
        return g;
    }
}
