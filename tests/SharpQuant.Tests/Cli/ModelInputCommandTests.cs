using SharpQuant.Data;
using SharpQuant.IO;
using SharpQuant.Onnx;
using SharpQuant.Runtime;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Cli;

/// <summary>
/// Models whose inputs are not 3×224×224 NCHW photos, through the commands: presets fitted to the model's input,
/// one-line errors that name what the model takes and the option that fits, and tensor files for the rest.
/// </summary>
public class ModelInputCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => InspectCommandTests.Run(args);

    private static string Photos(TempFolder temp, int count)
    {
        TestData.RequireSharedData();
        var folder = Directory.CreateDirectory(Path.Combine(temp.Path, "photos")).FullName;
        foreach (var file in ImageFiles.List(TestData.ImagesFolder).Take(count))
        {
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        }
        return folder;
    }

    private static void AssertOneErrorLine(string stderr, params string[] parts)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        foreach (var part in parts)
        {
            Assert.Contains(part, lines[0]);
        }
    }

    [SkippableFact]
    public void AnNhwcModelIsQuantizedAndEvaluatedFromPhotosAtItsOwnSize()
    {
        using var temp = TestData.NewTempFolder();
        var photos = Photos(temp, 3);
        var model = InputModels.Save(InputModels.Nhwc(128, 128), temp.File("nhwc.onnx"));
        var output = temp.File("nhwc-int8.onnx");
        var (code, stdout, stderr) = Run("quantize", model, "--images", photos, "-o", output, "--batch", "2");
        Assert.True(code == 0, stderr);
        Assert.Contains("imagenet at 3×128×128 NHWC", stdout);
        Assert.Contains("calibrated on 6 samples", stdout);
        var int8 = OnnxModel.Load(output);
        Assert.Contains(int8.Nodes, n => n.OpType == "QuantizeLinear");

        (code, stdout, stderr) = Run("evaluate", model, output, "--images", photos);
        Assert.True(code == 0, stderr);
        Assert.Contains("evaluated 3 images from", stdout);
        Assert.Contains("3×128×128 NHWC", stdout);
        Assert.Contains(output, stdout);
    }

    [SkippableTheory]
    [InlineData("--size", "64x64", "--size 64x64 does not fit input 'image', which takes 3×128×128 NHWC: use --size 128x128 or leave it out")]
    [InlineData("--layout", "nchw", "--layout nchw does not fit input 'image', which takes 3×128×128 NHWC: use --layout nhwc or leave it out")]
    [InlineData("--preset", "resnet18", "preset resnet18 makes 3×224×224 NCHW tensors, but input 'image' takes 3×128×128 NHWC: use --preset imagenet")]
    [InlineData("--preset", "ppocr-cls", "preset ppocr-cls makes 3-channel NCHW tensors, but input 'image' takes 3×128×128 NHWC")]
    [InlineData("--channel-order", "gray", "--channel-order gray does not fit input 'image', which takes 3×128×128 NHWC: use rgb or bgr")]
    public void DataThatCannotFitTheModelIsOneLineNamingWhatItTakes(string option, string value, string expected)
    {
        using var temp = TestData.NewTempFolder();
        var photos = Photos(temp, 1);
        var model = InputModels.Save(InputModels.Nhwc(128, 128), temp.File("nhwc.onnx"));
        var output = temp.File("out.onnx");
        foreach (var command in new[] { "quantize", "evaluate" })
        {
            string[] args = command == "quantize"
                ? ["quantize", model, "--images", photos, "-o", output, option, value]
                : ["evaluate", model, "--images", photos, option, value];
            var (code, _, stderr) = Run(args);
            Assert.Equal(2, code);
            AssertOneErrorLine(stderr, expected);
            Assert.False(File.Exists(output));
        }
    }

    [SkippableFact]
    public void ADynamicSizeTakesTheSizeOptionOrThePresetDefault()
    {
        using var temp = TestData.NewTempFolder();
        var photos = Photos(temp, 1);
        var model = InputModels.Save(InputModels.Nchw(3, size: null), temp.File("dynamic.onnx"));
        var (code, stdout, stderr) = Run("quantize", model, "--images", photos, "-o", temp.File("a.onnx"), "--size", "96x80", "--mean", "0.5", "--std", "0.25", "--scale", "1/255");
        Assert.True(code == 0, stderr);
        Assert.Contains("imagenet at 3×96×80 NCHW, RGB, ÷255, mean [0.5, 0.5, 0.5], std [0.25, 0.25, 0.25]", stdout);
        (code, stdout, stderr) = Run("quantize", model, "--images", photos, "-o", temp.File("b.onnx"), "--channel-order", "bgr");
        Assert.True(code == 0, stderr);
        Assert.Contains("imagenet at 3×224×224 NCHW, BGR", stdout);
    }

    [SkippableFact]
    public void AFourChannelInputIsCalibratedAndEvaluatedFromTensorFiles()
    {
        using var temp = TestData.NewTempFolder();
        var photos = Photos(temp, 1);
        var model = InputModels.Save(InputModels.Nchw(4, 320), temp.File("rgbd.onnx"));
        var (code, _, stderr) = Run("quantize", model, "--images", photos, "-o", temp.File("x.onnx"));
        Assert.Equal(2, code);
        AssertOneErrorLine(stderr, "input 'input' [N, 4, 320, 320] takes 4 channels", "give tensor files with --inputs DIR");

        var tensors = Directory.CreateDirectory(temp.File("tensors")).FullName;
        for (var i = 0; i < 3; i++)
        {
            NpyFile.Write(Path.Combine(tensors, $"sample{i}.npy"), Compare.RandomTensor(10 + i, -1f, 1f, 4, 320, 320));
        }
        // One file may hold a batch: two more samples.
        NpyFile.Write(Path.Combine(tensors, "sample3.npy"), Compare.RandomTensor(20, -1f, 1f, 2, 4, 320, 320));
        var output = temp.File("rgbd-int8.onnx");
        (code, var stdout, stderr) = Run("quantize", model, "--inputs", tensors, "-o", output, "--batch", "2");
        Assert.True(code == 0, stderr);
        Assert.Contains("calibrated on 5 samples (5 samples from 4 tensor files", stdout);
        Assert.Contains("empirical bias correction", stdout);

        (code, stdout, stderr) = Run("evaluate", model, output, "--inputs", tensors);
        Assert.True(code == 0, stderr);
        Assert.Contains("evaluated 5 samples", stdout);
        Assert.Contains("tensor files", stdout);

        // A preset option with tensor files is a usage error: tensors are fed as they are.
        (code, _, stderr) = Run("evaluate", model, "--inputs", tensors, "--size", "64x64");
        Assert.Equal(1, code);
        AssertOneErrorLine(stderr, "tensor files from --inputs are fed as they are");
    }

    [Fact]
    public void AModelWithTwoInputsTakesAFolderPerInput()
    {
        using var temp = TestData.NewTempFolder();
        var model = InputModels.Save(InputModels.TwoInputs(), temp.File("two.onnx"));
        var tensors = temp.File("tensors");
        foreach (var input in new[] { "left", "right" })
        {
            var folder = Directory.CreateDirectory(Path.Combine(tensors, input)).FullName;
            for (var i = 0; i < 4; i++)
            {
                NpyFile.Write(Path.Combine(folder, $"{i:D2}.npy"), Compare.RandomTensor(input.Length * 10 + i, -1f, 1f, 3, 16, 16));
            }
        }
        var output = temp.File("two-int8.onnx");
        var (code, stdout, stderr) = Run("quantize", model, "--inputs", tensors, "-o", output, "--batch", "3");
        Assert.True(code == 0, stderr);
        Assert.Contains("calibrated on 4 samples (4 samples from 4 tensor files per input (2 inputs)", stdout);
        var int8 = OnnxModel.Load(output);
        Assert.Equal(["left", "right"], int8.Inputs.Select(i => i.Name));

        (code, stdout, stderr) = Run("evaluate", model, output, "--inputs", tensors, "--json");
        Assert.True(code == 0, stderr);
        Assert.Contains("\"images\": 4", stdout);

        // Images feed one input; the error says what to give instead.
        TestData.RequireSharedData();
        (code, _, stderr) = Run("quantize", model, "--images", TestData.ImagesFolder, "-o", temp.File("x.onnx"));
        Assert.Equal(2, code);
        AssertOneErrorLine(stderr, "the model has 2 inputs ('left', 'right')", "--inputs DIR");
    }

    [Fact]
    public void TensorFilesThatDoNotFitTheInputsAreRefusedBeforeAnythingRuns()
    {
        using var temp = TestData.NewTempFolder();
        var two = InputModels.Save(InputModels.TwoInputs(), temp.File("two.onnx"));
        var tensors = temp.File("t");
        Directory.CreateDirectory(Path.Combine(tensors, "left"));
        NpyFile.Write(Path.Combine(tensors, "left", "a.npy"), Compare.RandomTensor(1, -1f, 1f, 3, 16, 16));
        var (code, _, stderr) = Run("quantize", two, "--inputs", tensors, "-o", temp.File("x.onnx"));
        Assert.Equal(2, code);
        AssertOneErrorLine(stderr, "has no folder 'right' for input 'right'");

        Directory.CreateDirectory(Path.Combine(tensors, "right"));
        NpyFile.Write(Path.Combine(tensors, "right", "b.npy"), Compare.RandomTensor(2, -1f, 1f, 3, 16, 16));
        (code, _, stderr) = Run("quantize", two, "--inputs", tensors, "-o", temp.File("x.onnx"));
        Assert.Equal(2, code);
        AssertOneErrorLine(stderr, "hold different file names");

        var one = InputModels.Save(InputModels.Nchw(3, 16), temp.File("one.onnx"));
        var flat = Directory.CreateDirectory(temp.File("flat")).FullName;
        NpyFile.Write(Path.Combine(flat, "a.npy"), Compare.RandomTensor(3, -1f, 1f, 3, 8, 8));
        (code, _, stderr) = Run("quantize", one, "--inputs", flat, "-o", temp.File("x.onnx"));
        Assert.Equal(2, code);
        AssertOneErrorLine(stderr, "has shape [3, 8, 8], but input 'input' takes [N, 3, 16, 16] (dimension 2 differs)");

        NpyFile.Write(Path.Combine(flat, "a.npy"), Tensor.Create(new long[3 * 16 * 16], 3, 16, 16));
        (code, _, stderr) = Run("quantize", one, "--inputs", flat, "-o", temp.File("x.onnx"));
        Assert.Equal(2, code);
        AssertOneErrorLine(stderr, "holds int64, but input 'input' takes float32");
        Assert.False(File.Exists(temp.File("x.onnx")));
    }

    [SkippableFact]
    public void SensitivityFinetuneAndReportTakeTheSameDataOptions()
    {
        using var temp = TestData.NewTempFolder();
        var photos = Photos(temp, 2);
        var model = InputModels.Save(InputModels.Nhwc(64, 64), temp.File("nhwc.onnx"));
        var (code, stdout, stderr) = Run("sensitivity", model, "--images", photos, "--modes", "weights");
        Assert.True(code == 0, stderr);
        Assert.Contains("3×64×64 NHWC", stdout);
        (code, stdout, stderr) = Run("finetune", model, "--images", photos, "-o", temp.File("ft.onnx"), "--steps", "2");
        Assert.True(code == 0, stderr);
        (code, stdout, stderr) = Run("report", model, "--images", photos, "-o", temp.File("r.html"));
        Assert.True(code == 0, stderr);
        Assert.Contains("3×64×64 NHWC", File.ReadAllText(temp.File("r.html")));

        var tensors = Directory.CreateDirectory(temp.File("tensors")).FullName;
        for (var i = 0; i < 4; i++)
        {
            NpyFile.Write(Path.Combine(tensors, $"{i}.npy"), Compare.RandomTensor(i, -2f, 2f, 64, 64, 3));
        }
        (code, _, stderr) = Run("sensitivity", model, "--inputs", tensors, "--modes", "weights");
        Assert.True(code == 0, stderr);
        (code, _, stderr) = Run("report", model, "--inputs", tensors, "-o", temp.File("t.html"));
        Assert.True(code == 0, stderr);
        Assert.Contains("tensor files", File.ReadAllText(temp.File("t.html")));
    }
}
