using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using SharpQuant.Cli;
using SharpQuant.Data;
using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Tests.Support;
using SkiaSharp;
using Xunit.Abstractions;

namespace SharpQuant.Tests.Cli;

public class EvaluateCommandTests(ITestOutputHelper output)
{
    private const int Photos = 2;

    [SkippableFact]
    public void FloatVersusItselfIsExactAndVersusInt8IsClose()
    {
        TestData.RequireSharedData();
        using var temp = TestData.NewTempFolder();
        var images = Directory.CreateDirectory(temp.File("images")).FullName;
        var photos = ImageFiles.List(TestData.ImagesFolder).Take(Photos).ToList();
        foreach (var file in photos)
        {
            File.Copy(file, Path.Combine(images, Path.GetFileName(file)));
        }
        File.WriteAllText(Path.Combine(images, "broken.jpg"), "not a jpeg");
        var int8 = temp.File("r18-int8.onnx");
        QuantizeResNet18(photos, int8);

        var (code, stdout, stderr) = InspectCommandTests.Run("evaluate", TestModels.ResNet18Path, TestModels.ResNet18Path, int8, "--images", images, "--json");
        Assert.True(code == 0, stderr);
        Assert.Contains("warning: skipped", stderr);
        Assert.Contains("broken.jpg", stderr);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal(Photos, doc.RootElement.GetProperty("images").GetInt32());
        var candidates = doc.RootElement.GetProperty("candidates");
        // The backbone's output is a 512-d embedding: top-1 agreement and KL are left out, the rest is there.
        var kind = doc.RootElement.GetProperty("output");
        Assert.Equal("embedding", kind.GetProperty("kind").GetString());
        Assert.Equal(512, kind.GetProperty("size").GetInt32());
        Assert.False(kind.GetProperty("classScores").GetBoolean());
        var self = candidates[0].GetProperty("fidelity");
        Assert.Equal(1.0, self.GetProperty("meanCosine").GetDouble(), 12);
        Assert.Equal("Infinity", self.GetProperty("sqnrDb").GetString());
        Assert.Equal(0, self.GetProperty("maxAbsDiff").GetDouble());
        Assert.Equal(Photos, self.GetProperty("samples").GetInt32());
        foreach (var absent in new[] { "top1Agreements", "top1Agreement", "meanKl" })
        {
            Assert.False(self.TryGetProperty(absent, out _), absent);
        }
        Assert.Equal("n/a: not class scores", self.GetProperty("top1AndKl").GetString());

        var quantized = candidates[1].GetProperty("fidelity");
        var cosine = quantized.GetProperty("meanCosine").GetDouble();
        var sqnr = quantized.GetProperty("sqnrDb").GetDouble();
        output.WriteLine($"ResNet18 float vs int8 on {Photos} photos: cosine {cosine:F6}, SQNR {sqnr:F2} dB, max|Δ| {quantized.GetProperty("maxAbsDiff").GetDouble():G4}");
        Assert.True(cosine > 0.9, $"cosine {cosine}");
        Assert.True(double.IsFinite(sqnr) && sqnr > 10, $"SQNR {sqnr} dB");
        Assert.False(quantized.TryGetProperty("top1Agreements", out _));

        // The table: "∞" for the model against itself, no top-1 or KL column, and a line that says why.
        (code, stdout, stderr) = InspectCommandTests.Run("evaluate", TestModels.ResNet18Path, TestModels.ResNet18Path, "--images", images);
        Assert.True(code == 0, stderr);
        Assert.Contains($"evaluated {Photos} images", stdout);
        Assert.Contains("output 'Pooling395_Output_0': feature extractor: 512-d output, no classifier", stdout);
        Assert.Matches(@"│ cosine +│ SQNR dB │ max\|Δ\| │", stdout);
        Assert.Matches(@"│ 1\.000000 │ ∞ +│ 0 +│", stdout);
        Assert.DoesNotContain("│ top-1 agreement", stdout);
        Assert.Contains("top-1 agreement and KL: n/a, not class scores: the output 'Pooling395_Output_0' is a 512-d embedding (a feature extractor without a classifier)", stdout);

        // Labels do not fit an embedding, whatever their count: one error line, nothing on stdout.
        var labels = temp.File("labels.txt");
        foreach (var count in new[] { 3, 512 })
        {
            File.WriteAllLines(labels, Enumerable.Range(0, count).Select(i => $"class{i}"));
            (code, stdout, stderr) = InspectCommandTests.Run("evaluate", TestModels.ResNet18Path, TestModels.ResNet18Path, "--images", images, "--labels", labels, "--top", "3");
            Assert.Equal(ExitCodes.BadInput, code);
            Assert.Equal("", stdout);
            Assert.Equal(
                $"error: --labels gives {count} labels, but the model's output 'Pooling395_Output_0' is a 512-d embedding (a feature extractor without a classifier); top-k needs class scores with one score per label",
                Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        }
    }

    [SkippableFact]
    public void TopKOfAClassifierNamesItsClassesAndTheLabelsMustMatchItsClassCount()
    {
        TestData.RequireSharedData();
        TestData.RequireFonts();
        using var temp = TestData.NewTempFolder();
        var labels = temp.File("orientation.txt");
        File.WriteAllLines(labels, ["0", "180"]);
        var (code, stdout, stderr) = InspectCommandTests.Run("evaluate", TestData.PpocrModelPath, TestData.PpocrModelPath, "--text-orientation", "4", "--labels", labels, "--top", "2");
        Assert.True(code == 0, stderr);
        Assert.Contains("output 'softmax_0.tmp_0': classifier: 2 classes (probabilities, ends in Softmax)", stdout);
        // Class scores: the table has top-1 agreement and KL (0 for the model against itself).
        Assert.Matches(@"│ 1\.000000 │ ∞ +│ 100\.0 % \(4/4\) +│ 0 +│ 0 +│", stdout);
        Assert.DoesNotContain("n/a", stdout);
        // Per line and model, both classes by name with their probabilities, which sum to 1.
        var entries = Regex.Matches(stdout, @"^(0|180) (\d(\.\d+)?(e-\d+)?)$", RegexOptions.Multiline);
        Assert.Equal(4 * 2 * 2, entries.Count);
        for (var i = 0; i < entries.Count; i += 2)
        {
            Assert.NotEqual(entries[i].Groups[1].Value, entries[i + 1].Groups[1].Value);
            var sum = double.Parse(entries[i].Groups[2].Value, CultureInfo.InvariantCulture) + double.Parse(entries[i + 1].Groups[2].Value, CultureInfo.InvariantCulture);
            Assert.Equal(1, sum, 5);
        }

        (code, stdout, _) = InspectCommandTests.Run("evaluate", TestData.PpocrModelPath, TestData.PpocrModelPath, "--text-orientation", "4", "--json");
        Assert.Equal(0, code);
        using (var doc = JsonDocument.Parse(stdout))
        {
            Assert.Equal("class-probabilities", doc.RootElement.GetProperty("output").GetProperty("kind").GetString());
            var self = doc.RootElement.GetProperty("candidates")[0].GetProperty("fidelity");
            Assert.Equal(4, self.GetProperty("top1Agreements").GetInt32());
            Assert.Equal(0, self.GetProperty("meanKl").GetDouble());
        }

        File.WriteAllLines(labels, ["0", "90", "180"]);
        (code, stdout, stderr) = InspectCommandTests.Run("evaluate", TestData.PpocrModelPath, "--text-orientation", "4", "--labels", labels);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Equal("", stdout);
        Assert.Equal(
            "error: --labels gives 3 labels, but the model's output 'softmax_0.tmp_0' holds scores for 2 classes; top-k needs one label per class score",
            Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public void LabelsForAFeatureMapAreBadInputSayingWhatTheOutputIs()
    {
        using var temp = FolderWithSyntheticImage();
        // A Relu of the image: [1, 3, 224, 224] out, a feature map with 224 × 224 positions per channel.
        var model = ProtoModels.Model(13, ProtoModels.Node("Relu", "relu", ["x"], ["y"]));
        model.Graph.Input.Add(ProtoModels.FloatValue("x", 1, 3, 224, 224));
        model.Graph.Output.Add(ProtoModels.FloatValue("y", 1, 3, 224, 224));
        var relu = temp.File("relu.onnx");
        File.WriteAllBytes(relu, model.Bytes());
        var labels = temp.File("labels.txt");
        File.WriteAllLines(labels, ["red", "green", "blue"]);

        var (code, stdout, stderr) = InspectCommandTests.Run("evaluate", relu, "--images", temp.Path, "--labels", labels);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Equal("", stdout);
        Assert.Equal(
            "error: --labels gives 3 labels, but the model's output 'y' is a feature map of shape [N, 3, 224, 224] (more than one position per channel, not one score per class); top-k needs class scores with one score per label",
            Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));

        // Without labels it is evaluated, with the metrics that hold for any output.
        (code, stdout, stderr) = InspectCommandTests.Run("evaluate", relu, relu, "--images", temp.Path);
        output.WriteLine(stdout);
        Assert.True(code == 0, stderr);
        Assert.Contains("output 'y': feature map: [N, 3, 224, 224] output, no classifier", stdout);
        Assert.Contains("top-1 agreement and KL: n/a, not class scores: the output 'y' is a feature map of shape [N, 3, 224, 224]", stdout);
    }

    [Fact]
    public void MissingCandidateIsBadInput()
    {
        using var temp = FolderWithSyntheticImage();
        var (code, stdout, stderr) = InspectCommandTests.Run("evaluate", TestModels.ResNet18Path, temp.File("missing.onnx"), "--images", temp.Path);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Equal("", stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
        Assert.Contains("missing.onnx", line);
    }

    [Fact]
    public void CandidateWithAnotherOutputShapeIsBadInputNamingBothShapes()
    {
        using var temp = FolderWithSyntheticImage();
        // Global average pooling of the input: [N, 3, 1, 1] where ResNet18 gives [N, 512, 1, 1].
        var model = ProtoModels.Model(13, ProtoModels.Node("GlobalAveragePool", "pool", ["x"], ["y"]));
        model.Graph.Input.Add(ProtoModels.FloatValue("x", 1, 3, 224, 224));
        model.Graph.Output.Add(ProtoModels.FloatValue("y", 1, 3, 1, 1));
        var pool = temp.File("pool.onnx");
        File.WriteAllBytes(pool, model.Bytes());

        var (code, _, stderr) = InspectCommandTests.Run("evaluate", TestModels.ResNet18Path, pool, "--images", temp.Path);
        Assert.Equal(ExitCodes.BadInput, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("pool.onnx' outputs shape [1, 3, 1, 1] but the float model", line);
        Assert.Contains("outputs [1, 512, 1, 1]", line);
    }

    [Fact]
    public void WithoutModelsTheDefaultResNet18RunsAlone()
    {
        using var temp = FolderWithSyntheticImage();
        var (code, stdout, stderr) = InspectCommandTests.Run("evaluate", "--images", temp.Path);
        Assert.True(code == 0, stderr);
        Assert.Contains("evaluated 1 image from", stdout);
        Assert.Contains("ResNet18.onnx", stdout);
    }

    private static void QuantizeResNet18(IReadOnlyList<string> photos, string path)
    {
        using var preset = new ResNet18Preset();
        var batch = ImagePreset.Batch(photos.Select(f => preset.ToTensor(ImageFiles.Decode(f))).ToList());
        var config = new QConfig(
            new QuantSpec { Bits = 8, Signed = false, Scheme = QuantScheme.Affine, Observer = ObserverKind.MinMax },
            QuantSpec.FakeQuantWeight);
        var sim = QuantSim.Prepare(TestModels.ResNet18().FoldBatchNorm(), new QConfigMapping().SetGlobal(IntegerFormat.ForThisCpu().Apply(config)));
        sim.Calibrate([batch]);
        QdqExport.Save(sim, path);
    }

    /// <summary>A folder with one small synthetic PNG (a colour gradient), so these tests need no shared data.</summary>
    private static TempFolder FolderWithSyntheticImage()
    {
        var temp = TestData.NewTempFolder();
        using var bitmap = new SKBitmap(64, 48);
        for (var y = 0; y < bitmap.Height; y++)
        {
            for (var x = 0; x < bitmap.Width; x++)
            {
                bitmap.SetPixel(x, y, new SKColor((byte)(4 * x), (byte)(5 * y), 128));
            }
        }
        using var image = SKImage.FromBitmap(bitmap);
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(temp.File("gradient.png"), png.ToArray());
        return temp;
    }
}
