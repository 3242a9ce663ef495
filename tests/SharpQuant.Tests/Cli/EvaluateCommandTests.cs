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
        var self = candidates[0].GetProperty("fidelity");
        Assert.Equal(1.0, self.GetProperty("meanCosine").GetDouble(), 12);
        Assert.Equal("Infinity", self.GetProperty("sqnrDb").GetString());
        Assert.Equal(0, self.GetProperty("maxAbsDiff").GetDouble());
        Assert.Equal(Photos, self.GetProperty("top1Agreements").GetInt32());

        var quantized = candidates[1].GetProperty("fidelity");
        var cosine = quantized.GetProperty("meanCosine").GetDouble();
        var sqnr = quantized.GetProperty("sqnrDb").GetDouble();
        output.WriteLine($"ResNet18 float vs int8 on {Photos} photos: cosine {cosine:F6}, SQNR {sqnr:F2} dB, top-1 {quantized.GetProperty("top1Agreements").GetInt32()}/{Photos}, KL {quantized.GetProperty("meanKl").GetDouble():G4}, max|Δ| {quantized.GetProperty("maxAbsDiff").GetDouble():G4}");
        Assert.True(cosine > 0.9, $"cosine {cosine}");
        Assert.True(double.IsFinite(sqnr) && sqnr > 10, $"SQNR {sqnr} dB");

        // The table and the top-k lines: "∞" for the model against itself, and label-then-probability lines.
        var labels = temp.File("labels.txt");
        File.WriteAllLines(labels, Enumerable.Range(0, 512).Select(i => $"feature{i}"));
        (code, stdout, stderr) = InspectCommandTests.Run("evaluate", TestModels.ResNet18Path, TestModels.ResNet18Path, "--images", images, "--labels", labels, "--top", "3");
        Assert.True(code == 0, stderr);
        Assert.Contains($"evaluated {Photos} images", stdout);
        Assert.Matches(@"│ 1\.000000 │ ∞ +│ 100\.0 % \(2/2\)", stdout);
        Assert.Equal(Photos * 2 * 3, Regex.Matches(stdout, @"^feature\d+ \d\.\d+(e-\d+)?$", RegexOptions.Multiline).Count);
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
