using SharpQuant.Passes;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Passes;

/// <summary>
/// A layer whose bias is computed by other ops (here an Identity of a constant, as PyTorch's exporter writes for
/// deduplicated biases, left unfolded) cannot be edited: the sets that would have to change it are skipped with the
/// reason, and the rest of the model is still equalized, absorbed and folded.
/// </summary>
public class ComputedBiasTests
{
    private static readonly float[] Input = [3f, -1f, 0.5f, 2f, -0.3f, 1.5f];

    [Fact]
    public void EqualizationSkipsTheSetThatWouldRescaleAComputedBiasAndKeepsTheOthers()
    {
        var g = Chain();
        var result = new EqualizeCrossLayer().Run(g);

        Assert.Equal([["a", "b"], ["b", "c"]], result.Report.Sets.Select(s => s.Set.Names.ToArray()).ToArray());
        var rejected = Assert.Single(result.Report.Discovery.Rejected, r => r.Layer == "c");
        Assert.Contains("'c' has a computed bias", rejected.Reason);
        // 'c' is the last layer of the b → c set, so it is rescaled by input: its computed bias stays as it was.
        Assert.Equal("Identity", result.Graph.FindNode("c")!.Input(2).Producer!.OpType);
        Assert.NotEqual(g.FindNode("b")!.ConstantInput(1)!.ToArray<float>(), result.Graph.FindNode("b")!.ConstantInput(1)!.ToArray<float>());
        Invariance.AssertPreserved(g, result.Graph, Tensor.FromFloats(Input, 2, 3));
    }

    [Fact]
    public void AbsorptionAndBatchNormFoldingSkipAComputedBiasWithTheReason()
    {
        var g = Chain();
        var absorbed = new AbsorbHighBias(new AbsorbHighBiasOptions
        {
            MeasuredMinima = new Dictionary<string, double[]> { ["a"] = [0.5, 0.5, 0.5], ["b"] = [0.5, 0.5, 0.5] },
        }).Run(g);
        Assert.Equal(["a"], absorbed.Report.Absorbed.Select(a => a.From));
        var skipped = Assert.Single(absorbed.Report.Skipped);
        Assert.Equal("b", skipped.Layer);
        Assert.Contains("'c' has a computed bias", skipped.Reason);

        var withBn = Chain(batchNormAfterC: true);
        var folded = new FoldBatchNorm().Run(withBn);
        Assert.Empty(folded.Report.Folded);
        Assert.Contains(folded.Report.Skipped, s => s.Reason.Contains("'c' has a computed bias"));
        Invariance.AssertPreserved(withBn, folded.Graph, Tensor.FromFloats(Input, 2, 3));
    }

    [SkippableFact]
    public void MobileNetV3SmallSkipsItsComputedBiasesAsLoadedAndEqualizesThemOnceNormalized()
    {
        var model = TestData.ZooModelPath("mobilenet_v3_small");
        // As the file has them (Identity of a constant), the five biases are computed: their sets are skipped.
        var raw = SharpQuant.Onnx.OnnxModel.Load(model);
        var skipped = new EqualizeCrossLayer().Run(raw);
        Assert.Contains(skipped.Report.Discovery.Rejected, r => r.Layer == "features.6.block.2.fc1" && r.Reason.Contains("'features.6.block.2.fc1' has a computed bias"));
        Assert.Equal(5, skipped.Report.Discovery.Rejected.Count(r => r.Reason.Contains("has a computed bias")));
        var input = Compare.RandomTensor(3, -2f, 2f, 1, 3, 224, 224);
        Invariance.AssertPreserved(raw, skipped.Graph, input);

        // The command normalizes on load, so the same layers are equalized.
        using var temp = TestData.NewTempFolder();
        var output = temp.File("eq.onnx");
        var (code, stdout, stderr) = SharpQuant.Tests.Cli.InspectCommandTests.Run("equalize", model, "-o", output);
        Assert.True(code == 0, stderr);
        Assert.DoesNotContain("computed bias", stdout);
        Assert.Contains("'features.6.block.2.fc1', 'features.6.block.2.fc2'", stdout.ReplaceLineEndings(""));
        Invariance.AssertPreserved(raw, SharpQuant.Onnx.OnnxModel.Load(output), input);
    }

    [SkippableFact]
    public void QuantizeWithEqualizationFinishesOnMobileNetV3Small()
    {
        var model = TestData.ZooModelPath("mobilenet_v3_small");
        using var temp = TestData.NewTempFolder();
        var images = Directory.CreateDirectory(temp.File("images")).FullName;
        var photo = SharpQuant.Data.ImageFiles.List(TestData.ImagesFolder)[0];
        File.Copy(photo, Path.Combine(images, Path.GetFileName(photo)));
        var output = temp.File("q.onnx");
        var (code, stdout, stderr) = SharpQuant.Tests.Cli.InspectCommandTests.Run("quantize", model, "--images", images, "--preset", "imagenet", "--equalize", "-o", output);
        Assert.True(code == 0, stderr);
        Assert.Contains("equalized 12 sets", stdout);
        Assert.Contains("54 int32 biases", stdout);
        Assert.True(File.Exists(output));
    }

    /// <summary>a → ReLU → b → ReLU → c → ReLU → d, all Gemm [3×3], where c's bias is Identity(constant).</summary>
    private static Graph Chain(bool batchNormAfterC = false)
    {
        var g = new Graph();
        g.Info.OnnxOpset = 13;
        Value x = g.AddInput("x", ElementType.Float, [2, 3]);
        var transB = new Dictionary<string, AttributeValue> { ["transB"] = AttributeValue.Of(1L) };
        float[][] weights =
        [
            [0.1f, -0.2f, 5f, 3f, -0.01f, 0.02f, 1f, 2f, -1f],
            [2f, 0.5f, -0.3f, 0.01f, 4f, 1f, -2f, 0.2f, 0.7f],
            [0.3f, 1f, -6f, 2f, 0.05f, 0.4f, -1f, 3f, 0.2f],
            [1f, -1f, 0.5f, 2f, 0.3f, -0.1f, 0.6f, 0.8f, -4f],
        ];
        string[] names = ["a", "b", "c", "d"];
        for (var i = 0; i < names.Length; i++)
        {
            Value bias = g.AddConstant(names[i] + ".b", Tensor.FromFloats([0.5f + i, 1f, -0.2f * i], 3));
            if (names[i] == "c")
            {
                bias = g.AddNode("Identity", [bias], moduleName: "c.bias_identity").Output;
            }
            var layer = g.AddNode("Gemm", [x, g.AddConstant(names[i] + ".w", Tensor.FromFloats(weights[i], 3, 3)), bias], moduleName: names[i], attributes: transB);
            x = layer.Output;
            if (names[i] == "c" && batchNormAfterC)
            {
                Tensor Channels(params float[] v) => Tensor.FromFloats(v, 3);
                x = g.AddNode("BatchNormalization", [x, g.AddConstant("bn.g", Channels(1f, 2f, 0.5f)), g.AddConstant("bn.b", Channels(0.1f, 0f, -0.1f)),
                    g.AddConstant("bn.m", Channels(0.2f, -1f, 0f)), g.AddConstant("bn.v", Channels(1f, 4f, 0.25f))], moduleName: "bn").Output;
            }
            if (i + 1 < names.Length)
            {
                x = g.AddNode("Relu", [x], moduleName: names[i] + ".relu").Output;
            }
        }
        g.AddOutput(x);
        return g;
    }
}
