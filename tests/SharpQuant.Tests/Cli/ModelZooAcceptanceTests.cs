using SharpQuant.Data;
using SharpQuant.IO;
using SharpQuant.Onnx;
using SharpQuant.Runtime;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Cli;

/// <summary>
/// Issue "Any model in", acceptance: every model of the zoo, ppocr-cls, the default ResNet18 and an NHWC export go
/// through the whole flow with exit 0 (inspect → fold → equalize → quantize from images, and data-free where BatchNorm
/// statistics exist → the int8 QDQ export run by ONNX Runtime in evaluate → plot → report), and fold and equalize
/// keep the float outputs within 1e-5 relative of the original.
/// </summary>
public class ModelZooAcceptanceTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => InspectCommandTests.Run(args);

    public static TheoryData<string> Models() =>
    [
        "mobilenet_v2", "mobilenet_v2_bn", "mobilenet_v3_small", "efficientnet_b0", "shufflenet_v2_x1_0", "regnet_x_400mf",
        "ppocr-cls", "resnet18", "nhwc-128-tf2onnx-names", "opset11-resize", "opset9-upsample", "opset11-softmax-unknown-rank",
    ];

    /// <summary>The model's file, its preset options and an input for the invariance checks.</summary>
    private static (string Path, string[] Preset, Tensor Input, bool HasBatchNormStatistics) Model(string name, TempFolder temp) => name switch
    {
        "ppocr-cls" => (TestData.PpocrModelPath, ["--preset", "ppocr-cls"], TestModels.PpocrInput(7), true),
        "resnet18" => (TestModels.ResNet18Path, [], TestModels.ResNet18Input(7), true),
        "nhwc-128-tf2onnx-names" => (InputModels.Save(InputModels.Nhwc(128, 128), temp.File("nhwc.onnx")), [], Compare.RandomTensor(7, -2f, 2f, 1, 128, 128, 3), false),
        "opset11-resize" => (InputModels.Save(QuantizeOldOpsetTests.ConvResizeConv(11, "linear"), temp.File("resize.onnx")), [], Compare.RandomTensor(7, -2f, 2f, 1, 3, 224, 224), true),
        "opset9-upsample" => (InputModels.Save(QuantizeOldOpsetTests.ConvResizeConv(9, "nearest"), temp.File("upsample.onnx")), [], Compare.RandomTensor(7, -2f, 2f, 1, 3, 224, 224), true),
        "opset11-softmax-unknown-rank" => (InputModels.Save(InputModels.Opset11Classifier(), temp.File("softmax.onnx")), [], Compare.RandomTensor(7, -2f, 2f, 1, 3, 32, 32), false),
        // The zoo's README: mobilenet_v2_bn keeps its BatchNorms (the others are eval-mode exports, BatchNorm fused).
        _ => (TestData.ZooModelPath(name), [], Compare.RandomTensor(7, -2f, 2f, 1, 3, 224, 224), name == "mobilenet_v2_bn"),
    };

    [SkippableTheory]
    [MemberData(nameof(Models))]
    public void TheWholeFlowRunsOnTheModel(string name)
    {
        TestData.RequireSharedData();
        using var temp = TestData.NewTempFolder();
        var photos = Directory.CreateDirectory(temp.File("photos")).FullName;
        foreach (var file in ImageFiles.List(TestData.ImagesFolder).Take(2))
        {
            File.Copy(file, Path.Combine(photos, Path.GetFileName(file)));
        }
        var (model, preset, input, statistics) = Model(name, temp);
        var original = OnnxModel.Load(model);

        Succeeds("inspect", model);
        Succeeds("fold", model, "-o", temp.File("folded.onnx"));
        Invariance.AssertPreserved(original, OnnxModel.Load(temp.File("folded.onnx")), input);
        Succeeds("equalize", model, "-o", temp.File("equalized.onnx"));
        Invariance.AssertPreserved(original, OnnxModel.Load(temp.File("equalized.onnx")), input);

        var int8 = temp.File("int8.onnx");
        var quantized = Succeeds(["quantize", model, "--images", photos, "-o", int8, "--batch", "4", .. preset]);
        Assert.Contains("int8 QDQ model", quantized);
        Assert.Contains(OnnxModel.Load(int8).Nodes, n => n.OpType == "QuantizeLinear");
        if (statistics)
        {
            Succeeds(["quantize", model, "--data-free", "-o", temp.File("int8-data-free.onnx"), .. preset]);
        }
        var evaluated = Succeeds(["evaluate", model, int8, "--images", photos, .. preset]);
        Assert.Contains("SQNR", evaluated);
        Succeeds("plot", "boxplots", model, "--output", temp.File("plots"));
        Assert.NotEmpty(Directory.GetFiles(temp.File("plots"), "*.png"));
        Succeeds(["report", model, "--images", photos, "-o", temp.File("report.html"), "--batch", "4", .. preset]);
        Assert.True(new FileInfo(temp.File("report.html")).Length > 10_000);
    }

    public static TheoryData<string> TensorModels() => ["rgbd-4x320x320", "two-inputs"];

    /// <summary>Inputs that are not images: calibration and evaluation from .npy tensor files (--inputs).</summary>
    [Theory]
    [MemberData(nameof(TensorModels))]
    public void TheWholeFlowRunsOnAModelFedFromTensorFiles(string name)
    {
        using var temp = TestData.NewTempFolder();
        var graph = name == "two-inputs" ? InputModels.TwoInputs() : InputModels.Nchw(4, 320);
        var model = InputModels.Save(graph, temp.File("model.onnx"));
        var tensors = temp.File("tensors");
        var feeds = new Dictionary<string, Tensor>();
        foreach (var input in graph.Inputs)
        {
            var folder = Directory.CreateDirectory(graph.Inputs.Count == 1 ? tensors : Path.Combine(tensors, input.Name)).FullName;
            var sample = input.Shape!.Skip(1).Select(d => d.Size!.Value).ToArray();
            for (var i = 0; i < 4; i++)
            {
                NpyFile.Write(Path.Combine(folder, $"{i:D2}.npy"), Compare.RandomTensor(10 * i + input.Name.Length, -1f, 1f, sample));
            }
            feeds[input.Name] = Compare.RandomTensor(99 + input.Name.Length, -1f, 1f, [1, .. sample]);
        }
        var original = OnnxModel.Load(model);

        Succeeds("inspect", model);
        Succeeds("fold", model, "-o", temp.File("folded.onnx"));
        AssertPreserved(original, OnnxModel.Load(temp.File("folded.onnx")), feeds);
        Succeeds("equalize", model, "-o", temp.File("equalized.onnx"));
        AssertPreserved(original, OnnxModel.Load(temp.File("equalized.onnx")), feeds);
        var int8 = temp.File("int8.onnx");
        Assert.Contains("int8 QDQ model", Succeeds("quantize", model, "--inputs", tensors, "-o", int8, "--batch", "2"));
        Assert.Contains("SQNR", Succeeds("evaluate", model, int8, "--inputs", tensors));
        Succeeds("plot", "boxplots", model, "--output", temp.File("plots"));
        Succeeds("report", model, "--inputs", tensors, "-o", temp.File("report.html"), "--batch", "2");
        Assert.Contains("tensor files", File.ReadAllText(temp.File("report.html")));
    }

    private static void AssertPreserved(Graph before, Graph after, IReadOnlyDictionary<string, Tensor> feeds)
    {
        using var a = new GraphExecutor(before);
        using var b = new GraphExecutor(after);
        var error = Compare.RelativeMaxError(b.Run(feeds).Output.Floats, a.Run(feeds).Output.Floats);
        Assert.True(error <= Invariance.Tolerance, $"float output changed: max|Δ|/max|y| = {error:E3}");
    }

    private static string Succeeds(params string[] args)
    {
        var (code, stdout, stderr) = Run(args);
        Assert.True(code == 0, $"sharpquant {string.Join(' ', args.Take(2))} exited {code}: {stderr}");
        return stdout;
    }
}
