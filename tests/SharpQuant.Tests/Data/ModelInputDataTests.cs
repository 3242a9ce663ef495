using SharpQuant.Data;
using SharpQuant.IO;
using SharpQuant.Quantization;
using SharpQuant.Runtime;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Data;

/// <summary>The library side of feeding any model: what its input declares, presets fitted to it, tensor files, named batches.</summary>
public class ModelInputDataTests
{
    private static RgbImage Gradient(int width, int height)
    {
        var pixels = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var p = (y * width + x) * 3;
                pixels[p] = (byte)(x * 255 / Math.Max(1, width - 1));
                pixels[p + 1] = (byte)(y * 255 / Math.Max(1, height - 1));
                pixels[p + 2] = (byte)((x + y) % 256);
            }
        }
        return new RgbImage(width, height, pixels, "gradient");
    }

    [Fact]
    public void TheImageInputIsReadFromTheDeclaredShape()
    {
        Assert.Equal(new ImageInput("image", ImageLayout.Nhwc, 3, 128, 96), ImageInput.Of(InputModels.Nhwc(128, 96)));
        Assert.Equal(new ImageInput("input", ImageLayout.Nchw, 3, null, null), ImageInput.Of(InputModels.Nchw(3, null)));
        Assert.Equal(new ImageInput("input", ImageLayout.Nchw, 1, 32, 32), ImageInput.Of(InputModels.Nchw(1, 32)));
        Assert.Equal("3×?×? NCHW", ImageInput.Of(InputModels.Nchw(3, null)).Describe());
        var four = Assert.Throws<SharpQuantException>(() => ImageInput.Of(InputModels.Nchw(4, 320)));
        Assert.Contains("takes 4 channels", four.Message);
        var two = Assert.Throws<SharpQuantException>(() => ImageInput.Of(InputModels.TwoInputs()));
        Assert.Contains("the model has 2 inputs", two.Message);
    }

    [Fact]
    public void NhwcTensorsHoldTheNchwValuesTransposed()
    {
        var image = Gradient(150, 120);
        var nchw = new ImageNetPreset(64, 80, ImageLayout.Nchw, ImagePresetOptions.None).ToTensor(image);
        var nhwc = new ImageNetPreset(64, 80, ImageLayout.Nhwc, ImagePresetOptions.None).ToTensor(image);
        Assert.Equal(new long[] { 1, 3, 64, 80 }, nchw.Shape);
        Assert.Equal(new long[] { 1, 64, 80, 3 }, nhwc.Shape);
        var a = nchw.Floats;
        var b = nhwc.Floats;
        for (var c = 0; c < 3; c++)
        {
            for (var p = 0; p < 64 * 80; p += 37)
            {
                Assert.Equal(a[c * 64 * 80 + p], b[p * 3 + c]);
            }
        }
    }

    [Fact]
    public void ChannelOrderAndNormalizationFollowTheOptions()
    {
        var image = new RgbImage(4, 4, Enumerable.Range(0, 16).SelectMany(_ => new byte[] { 200, 100, 30 }).ToArray(), "constant");
        var bgr = new ImageNetPreset(4, 4, ImageLayout.Nchw, new ImagePresetOptions { ChannelOrder = ChannelOrder.Bgr, Mean = [0f], Std = [1f], Scale = 1f });
        var t = bgr.ToTensor(image).Floats;
        Assert.Equal([30f, 100f, 200f], new[] { t[0], t[16], t[32] });
        var gray = new ImageNetPreset(4, 4, ImageLayout.Nchw, new ImagePresetOptions { Mean = [0.5f], Std = [0.5f] }, channels: 1);
        var g = gray.ToTensor(image);
        Assert.Equal(new long[] { 1, 1, 4, 4 }, g.Shape);
        var luma = 0.299f * 200 + 0.587f * 100 + 0.114f * 30;
        Assert.Equal((luma / 255f - 0.5f) / 0.5f, g.Floats[5], 5);
        Assert.Equal(-1.0, gray.InputRange.Lo, 5);
        Assert.Equal(1.0, gray.InputRange.Hi, 5);
        // The default is torchvision's transform exactly: the 224 crop of a 256 resize.
        var standard = new ImageNetPreset();
        Assert.Equal("imagenet at 3×224×224 NCHW, RGB, ÷255, mean [0.485, 0.456, 0.406], std [0.229, 0.224, 0.225]", standard.Describe());
    }

    [Fact]
    public void PresetsFitTheModelOrSayWhichOptionDoes()
    {
        var nhwc = ImageInput.Of(InputModels.Nhwc(48, 192));
        var fitted = Assert.IsType<ImageNetPreset>(ImagePresets.Fit("imagenet", nhwc, ImagePresetOptions.None));
        Assert.Equal((48, 192, ImageLayout.Nhwc), (fitted.Height, fitted.Width, fitted.Layout));
        var dynamic = ImageInput.Of(InputModels.Nchw(3, null));
        var ppocr = Assert.IsType<PpocrClsPreset>(ImagePresets.Fit("ppocr-cls", dynamic, new ImagePresetOptions { Size = (32, 100) }));
        Assert.Equal((32, 100), (ppocr.Height, ppocr.Width));
        Assert.Equal(new long[] { 1, 3, 32, 100 }, ppocr.ToTensor(Gradient(300, 50)).Shape);
        var size = Assert.Throws<SharpQuantException>(() => ImagePresets.Fit("imagenet", nhwc, new ImagePresetOptions { Size = (64, 64) }));
        Assert.Contains("use --size 48x192 or leave it out", size.Message);
        var norm = Assert.Throws<SharpQuantException>(() => ImagePresets.Fit("ppocr-cls", dynamic, new ImagePresetOptions { Mean = [0.5f] }));
        Assert.Contains("apply to --preset imagenet", norm.Message);
    }

    [Fact]
    public void TensorFilesStackSamplesAndSplitBatchFilesIntoBatchesOfTheAskedSize()
    {
        using var temp = TestData.NewTempFolder();
        var graph = InputModels.Nchw(4, 8);
        var samples = Enumerable.Range(0, 3).Select(i => Compare.RandomTensor(i, -1f, 1f, 4, 8, 8)).ToList();
        var batchFile = Compare.RandomTensor(9, -1f, 1f, 2, 4, 8, 8);
        for (var i = 0; i < 3; i++)
        {
            NpyFile.Write(temp.File($"s{i}.npy"), samples[i]);
        }
        NpyFile.Write(temp.File("s3.npy"), batchFile);
        var files = TensorFiles.Open(temp.Path, graph, batchSize: 2);
        var batches = files.Batches().ToList();
        Assert.Equal([2L, 2, 1], batches.Select(b => b.Size));
        Assert.Equal(["s0.npy", "s1.npy", "s2.npy", "s3.npy[0]", "s3.npy[1]"], files.Samples);
        Assert.Equal(samples[1].Floats.ToArray(), batches[0]["input"].Floats[(4 * 64)..].ToArray());
        Assert.Equal(batchFile.Floats[(4 * 64)..].ToArray(), batches[2]["input"].Floats.ToArray());
        Assert.Equal(["s0.npy", "s2.npy"], files.Subset(ImageSet.Calibration).FileNames);
        Assert.Equal(["s1.npy", "s3.npy"], files.Subset(ImageSet.Evaluation).FileNames);
    }

    [Fact]
    public void CalibrationOnNamedBatchesFeedsEveryInput()
    {
        var graph = InputModels.TwoInputs();
        graph.MakeBatchDynamic();
        var sim = QuantSim.Prepare(graph, new QConfigMapping().SetGlobal(QConfig.Default));
        // The right input is ten times larger: the quantizer after its conv must see that range, not zeros.
        var batches = Enumerable.Range(0, 2).Select(i => new InputBatch(new Dictionary<string, Tensor>
        {
            ["left"] = Compare.RandomTensor(i, -1f, 1f, 2, 3, 16, 16),
            ["right"] = Compare.RandomTensor(i + 10, -10f, 10f, 2, 3, 16, 16),
        })).ToList();
        sim.Calibrate(batches);
        var left = sim.Quantizers.Single(q => q.Kind == QuantizerKind.Activation && q.Target.StartsWith("left_conv", StringComparison.Ordinal));
        var right = sim.Quantizers.Single(q => q.Kind == QuantizerKind.Activation && q.Target.StartsWith("right_conv", StringComparison.Ordinal));
        Assert.InRange(right.QParams.Scale[0] / left.QParams.Scale[0], 4, 20);
        var mismatched = Assert.Throws<SharpQuantException>(() => new InputBatch(new Dictionary<string, Tensor>
        {
            ["left"] = Compare.RandomTensor(0, -1f, 1f, 2, 3, 16, 16),
            ["right"] = Compare.RandomTensor(0, -1f, 1f, 3, 3, 16, 16),
        }));
        Assert.Contains("differ in batch size", mismatched.Message);
    }
}
