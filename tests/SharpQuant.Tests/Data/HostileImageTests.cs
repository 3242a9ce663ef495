using SharpQuant.Cli;
using SharpQuant.Data;
using SharpQuant.Tests.Cli;
using SharpQuant.Tests.Support;
using SkiaSharp;

namespace SharpQuant.Tests.Data;

/// <summary>
/// Image files that would abort a run (a header promising billions of pixels, a strip the preset would blow up) or
/// slip into calibration unnoticed (truncated data): each is skipped with its reason and the good images are used.
/// </summary>
public class HostileImageTests
{
    [Fact]
    public void HeaderPromisingTooManyPixelsIsRefusedBeforeDecoding()
    {
        using var temp = TestData.NewTempFolder();
        var path = temp.File("huge.png");
        File.WriteAllBytes(path, PngBytes.LyingHeader(30000, 30000));
        Assert.True(new FileInfo(path).Length < 200);

        var e = Assert.Throws<SharpQuantException>(() => ImageFiles.Decode(path));
        Assert.Equal($"'{path}' says it has 30000×30000 pixels, more than the limit of 100 megapixels", e.Message);
        Assert.False(ImageFiles.CanDecode(path));
        Assert.Equal(e.Message, ImageFiles.HeaderProblem(path));
    }

    [Fact]
    public void DecompressionBombIsRefusedFromItsHeader()
    {
        using var temp = TestData.NewTempFolder();
        var path = temp.File("bomb.png");
        // 144 million zero pixels deflate to well under a megabyte.
        File.WriteAllBytes(path, PngBytes.Grey(12000, 12000));
        Assert.True(new FileInfo(path).Length < 1_000_000);

        var e = Assert.Throws<SharpQuantException>(() => ImageFiles.Decode(path));
        Assert.Contains("12000×12000 pixels, more than the limit of 100 megapixels", e.Message);
    }

    [Fact]
    public void ImageAtTheLimitStillDecodes()
    {
        using var temp = TestData.NewTempFolder();
        var path = temp.File("strip.png");
        File.WriteAllBytes(path, PngBytes.Grey(10000, 1));
        var image = ImageFiles.Decode(path);
        Assert.Equal((10000, 1), (image.Width, image.Height));
        Assert.All(image.Pixels, p => Assert.Equal(0, p));
    }

    [Fact]
    public void StripTheResNet18PresetWouldBlowUpIsSkippedAndTheGoodImageIsUsed()
    {
        using var temp = TestData.NewTempFolder();
        File.WriteAllBytes(temp.File("a-strip.png"), PngBytes.Grey(10000, 1));
        File.WriteAllBytes(temp.File("b-good.png"), PngBytes.Gradient(64, 48));
        File.WriteAllBytes(temp.File("c-huge.png"), PngBytes.LyingHeader(30000, 30000));
        using var preset = ResNet18Preset.InManagedCode();

        var data = new ImageBatches(temp.Path, preset, 4);
        var batches = data.Batches().ToList();
        Assert.Equal([1, 3, 224, 224], Assert.Single(batches).Shape.ToArray());
        Assert.Equal(["b-good.png"], data.Samples);
        Assert.Equal([temp.File("a-strip.png"), temp.File("c-huge.png")], data.Skipped);
        Assert.Equal($"'{temp.File("a-strip.png")}' would be resized to 2560000×256 pixels, more than the limit of 100 megapixels", data.SkippedImages[0].Reason);
        Assert.Contains("says it has 30000×30000 pixels", data.SkippedImages[1].Reason);
    }

    [Fact]
    public void HugeHeaderIsLeftOutBeforeTheSplit()
    {
        using var temp = TestData.NewTempFolder();
        File.WriteAllBytes(temp.File("a-huge.png"), PngBytes.LyingHeader(30000, 30000));
        File.WriteAllBytes(temp.File("b.png"), PngBytes.Gradient(64, 48));
        File.WriteAllBytes(temp.File("c.png"), PngBytes.Gradient(48, 64));
        var evaluation = new ImageBatches(temp.Path, new PpocrClsPreset(), 4, new CropPlan(seed: 1), ImageSet.Evaluation);
        Assert.Equal(10, evaluation.Batches().Sum(t => t.Shape[0]));
        // The huge file takes no place in the alternation: b.png calibrates, c.png evaluates.
        Assert.All(evaluation.Samples, s => Assert.StartsWith("c.png [", s));
        Assert.Equal([temp.File("a-huge.png")], evaluation.Skipped);
    }

    public static TheoryData<string> Truncations => ["png-third", "png-header-and-20-idat-bytes", "jpeg-half"];

    [Theory]
    [MemberData(nameof(Truncations))]
    public void TruncatedImagesAreRefused(string kind)
    {
        using var temp = TestData.NewTempFolder();
        var png = PngBytes.Gradient(64, 48);
        var (name, bytes) = kind switch
        {
            "png-third" => ("third.png", png[..(png.Length / 3)]),
            "png-header-and-20-idat-bytes" => ("start.png", PngBytes.HeaderAndIdatStart(png, 20)),
            _ => ("half.jpg", Jpeg()[..(Jpeg().Length / 2)]),
        };
        var path = temp.File(name);
        File.WriteAllBytes(path, bytes);
        // The header is intact: SkiaSharp's own decoder would fill in the missing rows and say nothing.
        Assert.True(ImageFiles.CanDecode(path));
        using (var lenient = SKBitmap.Decode(path))
        {
            Assert.NotNull(lenient);
        }

        var e = Assert.Throws<SharpQuantException>(() => ImageFiles.Decode(path));
        Assert.Equal($"'{path}' is truncated: its image data ends before the last row", e.Message);
    }

    [SkippableFact]
    public void EveryPhotoOfTheSharedDataStillDecodesWhole()
    {
        // The stricter decode must not refuse real photos, and gives the pixels SkiaSharp's own decode gives.
        TestData.RequireSharedData();
        var photos = ImageFiles.List(TestData.ImagesFolder);
        Assert.True(photos.Count >= 9);
        Assert.All(photos, p =>
        {
            using var lenient = SKBitmap.Decode(p);
            Assert.Equal(ImageFiles.ToRgb(lenient, p).Pixels, ImageFiles.Decode(p).Pixels);
        });
    }

    [Fact]
    public void TruncatedImageIsSkippedAndTheWholeOneIsUsed()
    {
        using var temp = TestData.NewTempFolder();
        var png = PngBytes.Gradient(64, 48);
        File.WriteAllBytes(temp.File("a-cut.png"), png[..(png.Length / 3)]);
        File.WriteAllBytes(temp.File("b-whole.png"), png);
        var data = new ImageBatches(temp.Path, new PpocrClsPreset(), 4, includeFlips: true);
        Assert.Equal(2, data.Batches().Sum(t => t.Shape[0]));
        Assert.Equal(["b-whole.png", "b-whole.png [mirrored]"], data.Samples);
        Assert.Contains("is truncated", Assert.Single(data.SkippedImages).Reason);
    }

    [Fact]
    public void EvaluateWarnsOncePerSkippedImageAndUsesTheGoodOne()
    {
        using var temp = TestData.NewTempFolder();
        var images = Directory.CreateDirectory(temp.File("images")).FullName;
        var png = PngBytes.Gradient(64, 48);
        File.WriteAllBytes(Path.Combine(images, "a-strip.png"), PngBytes.Grey(10000, 1));
        File.WriteAllBytes(Path.Combine(images, "b-good.png"), png);
        File.WriteAllBytes(Path.Combine(images, "c-huge.png"), PngBytes.LyingHeader(30000, 30000));
        File.WriteAllBytes(Path.Combine(images, "d-cut.png"), png[..(png.Length / 3)]);
        var model = ProtoModels.Model(13, ProtoModels.Node("Relu", "relu", ["x"], ["y"]));
        model.Graph.Input.Add(ProtoModels.FloatValue("x", 1, 3, 224, 224));
        model.Graph.Output.Add(ProtoModels.FloatValue("y", 1, 3, 224, 224));
        var relu = temp.File("relu.onnx");
        File.WriteAllBytes(relu, model.Bytes());

        var (code, stdout, stderr) = InspectCommandTests.Run("evaluate", relu, "--images", images);
        Assert.True(code == ExitCodes.Ok, stderr);
        Assert.Contains("evaluated 1 image from", stdout);
        var warnings = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, warnings.Length);
        Assert.StartsWith("warning: skipped '", warnings[0]);
        Assert.Contains("a-strip.png' would be resized to 2560000×256 pixels", warnings[0]);
        Assert.Contains("c-huge.png' says it has 30000×30000 pixels", warnings[1]);
        Assert.Contains("d-cut.png' is truncated", warnings[2]);
    }

    [SkippableFact]
    public void FifoNamedLikeAnImageIsSkippedWithoutBlocking()
    {
        SpecialFiles.RequirePosix();
        using var temp = TestData.NewTempFolder();
        var fifo = SpecialFiles.Fifo(temp.File("a.jpg"));
        File.WriteAllBytes(temp.File("b.png"), PngBytes.Gradient(64, 48));
        File.WriteAllBytes(temp.File("c.png"), PngBytes.Gradient(48, 64));
        var preset = new PpocrClsPreset();

        Assert.Equal($"'{fifo}' is a FIFO (named pipe), not a regular file", NoHang.Throws<SharpQuantException>(() => ImageFiles.Decode(fifo)).Message);
        var whole = new ImageBatches(temp.Path, preset, 4);
        Assert.Equal(2, NoHang.Run(() => whole.Batches().Sum(t => t.Shape[0])));
        Assert.Equal($"'{fifo}' is a FIFO (named pipe), not a regular file", Assert.Single(whole.SkippedImages).Reason);
        // With a split the FIFO is left out with the other unreadable headers, before the alternation.
        var evaluation = NoHang.Run(() => new ImageBatches(temp.Path, preset, 4, new CropPlan(seed: 1), ImageSet.Evaluation));
        Assert.Equal(10, NoHang.Run(() => evaluation.Batches().Sum(t => t.Shape[0])));
        Assert.All(evaluation.Samples, s => Assert.StartsWith("c.png [", s));
        Assert.Equal([fifo], evaluation.Skipped);
    }

    private static byte[] Jpeg()
    {
        using var bitmap = SKBitmap.Decode(PngBytes.Gradient(64, 48));
        using var image = SKImage.FromBitmap(bitmap);
        using var jpeg = image.Encode(SKEncodedImageFormat.Jpeg, 90);
        return jpeg.ToArray();
    }
}
