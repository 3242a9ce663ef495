using System.Globalization;
using System.Text.RegularExpressions;
using SharpQuant.Data;
using SharpQuant.Onnx;
using SharpQuant.Models;
using SharpQuant.Tests.Cli;
using SharpQuant.Tests.Support;
using Xunit.Abstractions;

namespace SharpQuant.Tests.Data;

public class ImageSplitTests(ITestOutputHelper output)
{
    /// <summary>The nine photos of ../shared/data/images.</summary>
    private const int SharedPhotos = 9;

    /// <summary>
    /// The float classifier's bar on 40 lines: TextOrientationDatasetTests measures 99.25 % on 400 lines of seed 1,
    /// and one miss in 40 is already 2.5 points, so 90 % allows a few misses without letting a broken pipeline through.
    /// </summary>
    private const double MinTextAccuracyPercent = 90;

    private const string ShapeOfFiles = "a.png b.png c.png d.png e.png";

    [Fact]
    public void CropsDependOnlyOnSeedNameAndIndexAndStayInRange()
    {
        var plan = new CropPlan(seed: 5);
        var again = new CropPlan(seed: 5);
        var other = new CropPlan(seed: 6);
        var scales = Enumerable.Range(0, CropPlan.CropsPerImage).Select(k => plan.Scale("/x/samoyed.jpg", k)).ToList();
        Assert.Equal(scales, Enumerable.Range(0, CropPlan.CropsPerImage).Select(k => again.Scale("/elsewhere/samoyed.jpg", k)));
        Assert.NotEqual(scales, Enumerable.Range(0, CropPlan.CropsPerImage).Select(k => other.Scale("/x/samoyed.jpg", k)));
        Assert.NotEqual(scales, Enumerable.Range(0, CropPlan.CropsPerImage).Select(k => plan.Scale("/x/chelsea.png", k)));
        Assert.All(scales, s => Assert.InRange(s, CropPlan.MinScale, CropPlan.MaxScale));
        Assert.Equal(CropPlan.CropsPerImage, scales.Distinct().Count());

        // Positions: centre and the four corners of a 400×300 image; sides are the scale times 300.
        var boxes = Enumerable.Range(0, CropPlan.CropsPerImage).Select(k => plan.Box("samoyed.jpg", k, 400, 300)).ToList();
        for (var k = 0; k < boxes.Count; k++)
        {
            Assert.Equal((int)Math.Round(scales[k] * 300), boxes[k].Size);
        }
        Assert.Equal(((400 - boxes[0].Size) / 2, (300 - boxes[0].Size) / 2), (boxes[0].Left, boxes[0].Top));
        Assert.Equal((0, 0), (boxes[1].Left, boxes[1].Top));
        Assert.Equal((400 - boxes[2].Size, 0), (boxes[2].Left, boxes[2].Top));
        Assert.Equal((0, 300 - boxes[3].Size), (boxes[3].Left, boxes[3].Top));
        Assert.Equal((400 - boxes[4].Size, 300 - boxes[4].Size), (boxes[4].Left, boxes[4].Top));
    }

    [Fact]
    public void CropAndMirrorCutTheRightPixels()
    {
        var image = Gradient(40, 30);
        var plan = new CropPlan(seed: 2);
        var variant = new ImageVariant("g.png", Crop: 4, Flipped: true);
        var (left, top, size) = plan.Box("g.png", 4, 40, 30);
        var crop = plan.Apply(image, variant);
        Assert.Equal((size, size), (crop.Width, crop.Height));
        // The mirrored crop's pixel (0, 0) is the source pixel at the crop's right edge of its top row.
        var source = ((top * 40) + left + size - 1) * 3;
        Assert.Equal(image.Pixels.AsSpan(source, 3).ToArray(), crop.Pixels.AsSpan(0, 3).ToArray());
        Assert.Equal("g.png [bottom-right, mirrored]", variant.Name);
    }

    [Fact]
    public void SplitAlternatesWholeImagesByNameAndNoVariantIsInBothSets()
    {
        var files = ShapeOfFiles.Split(' ').Reverse().ToList();
        var split = new ImageSplit(files, new CropPlan(seed: 1));
        Assert.Equal(["a.png", "c.png", "e.png"], split.FilesIn(ImageSet.Calibration));
        Assert.Equal(["b.png", "d.png"], split.FilesIn(ImageSet.Evaluation));
        var calibration = split.Variants(ImageSet.Calibration);
        var evaluation = split.Variants(ImageSet.Evaluation);
        Assert.Equal(3 * 10, calibration.Count);
        Assert.Equal(2 * 10, evaluation.Count);
        Assert.Empty(calibration.Intersect(evaluation));
        Assert.Empty(calibration.Select(v => v.File).Intersect(evaluation.Select(v => v.File)));
        Assert.Equal(split.Variants(ImageSet.All).OrderBy(v => v.Name), calibration.Concat(evaluation).OrderBy(v => v.Name));
        Assert.Equal(
            "5 images, 5 crops each with mirror images (10 variants per image, seed 1): calibration 3 images / 30 variants, evaluation 2 images / 20 variants",
            split.Describe());
        Assert.Equal(5, new ImageSplit(files, new CropPlan(1, includeFlips: false)).Variants(ImageSet.All).Count / 5);
    }

    [SkippableFact]
    public void SharedPhotosSplitIntoFiftyCalibrationAndFortyEvaluationSamplesThatShareNoPixels()
    {
        TestData.RequireSharedData();
        var preset = new PpocrClsPreset();
        var calibration = new ImageBatches(TestData.ImagesFolder, preset, 16, new CropPlan(seed: 1), ImageSet.Calibration);
        var evaluation = new ImageBatches(TestData.ImagesFolder, preset, 16, new CropPlan(seed: 1), ImageSet.Evaluation);
        var calibrationTensors = calibration.Batches().ToList();
        var evaluationTensors = evaluation.Batches().ToList();
        output.WriteLine(calibration.Describe());
        output.WriteLine(evaluation.Describe());

        Assert.Equal(SharedPhotos, calibration.Split!.Files.Count);
        Assert.Equal(5, calibration.Images);
        Assert.Equal(50, calibration.Samples.Count);
        Assert.Equal(40, evaluation.Samples.Count);
        Assert.Equal(50, calibrationTensors.Sum(t => t.Shape[0]));
        Assert.Equal(4, calibrationTensors.Count);
        Assert.Empty(calibration.Samples.Intersect(evaluation.Samples));
        Assert.Empty(calibration.Skipped);
        Assert.Equal("calibration set, 50 samples; split of 9 images, 5 crops each with mirror images (10 variants per image, seed 1): calibration 5 images / 50 variants, evaluation 4 images / 40 variants",
            calibration.Describe());

        // The same seed gives bitwise equal batches.
        var again = new ImageBatches(TestData.ImagesFolder, preset, 16, new CropPlan(seed: 1), ImageSet.Calibration).Batches().ToList();
        Assert.All(calibrationTensors.Zip(again), p => Assert.True(p.First.Bytes.SequenceEqual(p.Second.Bytes)));
        var otherSeed = new ImageBatches(TestData.ImagesFolder, preset, 16, new CropPlan(seed: 2), ImageSet.Calibration).Batches().First();
        Assert.False(calibrationTensors[0].Bytes.SequenceEqual(otherSeed.Bytes));
    }

    [Fact]
    public void UndecodableFilesAreSkippedAndListedAndAnEmptySetIsAnError()
    {
        using var temp = TestData.NewTempFolder();
        File.WriteAllText(temp.File("a-broken.png"), "not a png");
        File.WriteAllBytes(temp.File("b.png"), ImageFiles.EncodePng(Gradient(32, 24)));
        File.WriteAllBytes(temp.File("c.png"), ImageFiles.EncodePng(Gradient(24, 32)));
        var preset = new PpocrClsPreset();
        var evaluation = new ImageBatches(temp.Path, preset, 4, new CropPlan(seed: 1), ImageSet.Evaluation);
        Assert.Equal(10, evaluation.Batches().Sum(t => t.Shape[0]));
        // The broken file is left out before the split: b.png calibrates and c.png evaluates.
        Assert.Equal([temp.File("a-broken.png")], evaluation.Skipped);
        Assert.All(evaluation.Samples, s => Assert.StartsWith("c.png [", s));

        File.Delete(temp.File("c.png"));
        var e = Assert.Throws<SharpQuantException>(() => new ImageBatches(temp.Path, preset, 4, new CropPlan(seed: 1), ImageSet.Evaluation));
        Assert.Contains("evaluation set", e.Message);
        File.Delete(temp.File("b.png"));
        e = Assert.Throws<SharpQuantException>(() => new ImageBatches(temp.Path, preset, 4, new CropPlan(seed: 1), ImageSet.All));
        Assert.Contains("none of the 1 image files", e.Message);
        Assert.Contains("a-broken.png", e.Message);
    }

    [Fact]
    public void ImageNetPresetNormalizesAConstantColourExactly()
    {
        byte[] rgb = [200, 100, 30];
        var pixels = new byte[300 * 260 * 3];
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = rgb[i % 3];
        }
        var preset = (ImageNetPreset)ImagePresets.Create("imagenet");
        var tensor = preset.ToTensor(new RgbImage(300, 260, pixels, "constant"));
        Assert.Equal(new long[] { 1, 3, 224, 224 }, tensor.Shape);
        float[] mean = [0.485f, 0.456f, 0.406f];
        float[] std = [0.229f, 0.224f, 0.225f];
        var data = tensor.Floats.ToArray();
        for (var c = 0; c < 3; c++)
        {
            var expected = (rgb[c] / 255f - mean[c]) / std[c];
            Assert.All(data.Skip(c * 224 * 224).Take(224 * 224), v => Assert.Equal(expected, v));
        }
        Assert.Equal((0 - 0.485) / 0.229, preset.InputRange.Lo, 5);
        Assert.Equal((1 - 0.406) / 0.225, preset.InputRange.Hi, 5);
        Assert.Contains("imagenet", ImagePresets.Names);
    }

    [SkippableFact]
    public void ResNet18PresetAgreesWithBgrMinusTheMeanImageInCSharp()
    {
        TestData.RequireSharedData();
        var photo = ImageFiles.Decode(ImageFiles.List(TestData.ImagesFolder).First(f => f.EndsWith("samoyed.jpg", StringComparison.Ordinal)));
        var meanImage = OnnxModel.Load(DefaultModels.ResNet18PreprocessPath).Constants
            .Single(c => c.ConstantValue!.ElementCount > 1).ConstantValue!.ToArray<float>();
        Assert.Equal(3 * 224 * 224, meanImage.Length);

        // The reference, written out here: resize and centre-crop as every preset does, then BGR minus the mean image.
        var crop = ImagePreset.ResizeAndCenterCrop(photo, 256, 224);
        var plane = 224 * 224;
        var expected = new float[3 * plane];
        for (var p = 0; p < plane; p++)
        {
            expected[p] = crop.Pixels[p * 3 + 2] - meanImage[p];
            expected[plane + p] = crop.Pixels[p * 3 + 1] - meanImage[plane + p];
            expected[2 * plane + p] = crop.Pixels[p * 3] - meanImage[2 * plane + p];
        }

        using var onnx = new ResNet18Preset();
        using var managed = ResNet18Preset.InManagedCode();
        Assert.True(onnx.UsesOnnxRuntime);
        Assert.False(managed.UsesOnnxRuntime);
        var viaOnnx = onnx.ToTensor(photo).Floats.ToArray();
        var viaManaged = managed.ToTensor(photo).Floats.ToArray();
        var onnxDiff = expected.Zip(viaOnnx, (a, b) => Math.Abs(a - b)).Max();
        var managedDiff = expected.Zip(viaManaged, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"max|Δ| ONNX Runtime {onnxDiff}, C# {managedDiff}");
        Assert.True(onnxDiff <= 1e-4, $"ONNX Runtime preprocessing differs by {onnxDiff}");
        Assert.True(managedDiff <= 1e-4, $"C# preprocessing differs by {managedDiff}");
        Assert.Equal(onnx.InputRange, managed.InputRange);
    }

    [SkippableFact]
    public void EvaluateOnTextLinesPrintsTheFloatModelsAccuracy()
    {
        TestData.RequireSharedData();
        TestData.RequireFonts();
        var (code, stdout, stderr) = InspectCommandTests.Run("evaluate", TestData.PpocrModelPath, TestData.PpocrModelPath, "--text-orientation", "40", "--batch", "16");
        output.WriteLine(stdout);
        Assert.True(code == 0, stderr);
        Assert.Contains("evaluated 40 samples (40 rendered text lines, seed 1", stdout);
        // The accuracy table's last column; the fidelity table's top-1 agreement has more columns after it.
        var accuracies = Regex.Matches(stdout, @"│ (\d+\.\d) % \((\d+)/40\) *│\r?$", RegexOptions.Multiline);
        Assert.Equal(2, accuracies.Count);
        var floatAccuracy = double.Parse(accuracies[0].Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(floatAccuracy >= MinTextAccuracyPercent, $"float accuracy {floatAccuracy} %");
        Assert.Equal(accuracies[0].Groups[2].Value, accuracies[1].Groups[2].Value);
        Assert.Matches(@"│ 1\.000000 │ ∞ +│ 100\.0 % \(40/40\)", stdout);
    }

    [Fact]
    public void ImagesAndTextOrientationExcludeEachOther()
    {
        using var temp = TestData.NewTempFolder();
        var (code, _, stderr) = InspectCommandTests.Run("evaluate", "model.onnx", "--images", temp.Path, "--text-orientation", "4");
        Assert.Equal(SharpQuant.Cli.ExitCodes.Usage, code);
        Assert.Contains("exclude each other", stderr);
        (code, _, stderr) = InspectCommandTests.Run("evaluate", "--text-orientation", "4");
        Assert.Equal(SharpQuant.Cli.ExitCodes.Usage, code);
        Assert.Contains("needs the ppocr-cls model", stderr);
    }

    [Fact]
    public void EvaluateSplitStatesTheCounts()
    {
        using var temp = TestData.NewTempFolder();
        foreach (var name in ShapeOfFiles.Split(' '))
        {
            File.WriteAllBytes(temp.File(name), ImageFiles.EncodePng(Gradient(64, 48)));
        }
        var (code, stdout, stderr) = InspectCommandTests.Run("evaluate", "--images", temp.Path, "--split", "evaluation", "--batch", "10");
        Assert.True(code == 0, stderr);
        Assert.Contains("evaluated 20 images from", stdout);
        Assert.Contains("evaluation set, 20 samples; split of 5 images, 5 crops each with mirror images (10 variants per image, seed 1): calibration 3 images / 30 variants, evaluation 2 images / 20 variants", stdout.Replace("\n", "", StringComparison.Ordinal));
    }

    private static RgbImage Gradient(int width, int height)
    {
        var pixels = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var i = (y * width + x) * 3;
                (pixels[i], pixels[i + 1], pixels[i + 2]) = ((byte)(5 * x), (byte)(7 * y), (byte)(x + y));
            }
        }
        return new RgbImage(width, height, pixels, "gradient");
    }
}
