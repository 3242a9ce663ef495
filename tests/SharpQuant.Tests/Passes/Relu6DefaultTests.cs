using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Passes;

/// <summary>
/// ReLU6 is handled exactly by default (ReLU and a per-channel Min), so MobileNetV2's pointwise → ReLU6 → depthwise
/// → ReLU6 → pointwise blocks are equalized without any option, and the float function is kept.
/// </summary>
public class Relu6DefaultTests
{
    [SkippableFact]
    public void MobileNetV2TriplesAreFoundWithoutOptionsAndTheFloatOutputIsKept()
    {
        var model = OnnxModel.Load(TestData.ZooModelPath("mobilenet_v2"));
        var equalized = new EqualizeCrossLayer().Run(model);

        Assert.Equal(17, equalized.Report.Discovery.TripleCount);
        Assert.Equal(3, equalized.Report.Discovery.PairCount);
        Assert.DoesNotContain(equalized.Report.Discovery.Rejected, r => r.Reason.Contains("ReLU6"));
        Assert.True(equalized.Report.Converged);
        Invariance.AssertPreserved(model, equalized.Graph, Compare.RandomTensor(5, -2f, 2f, 1, 3, 224, 224));

        // Skipping stays an option, and then the ReLU6s stop the walk as before.
        var skipped = EqualizationSetFinder.Find(model, Relu6Mode.Skip);
        Assert.Equal(2, skipped.Sets.Count);
        Assert.Contains(skipped.Rejected, r => r.Reason.Contains("(ReLU6) does not commute"));
    }

    [SkippableFact]
    public void TheEqualizeCommandHandlesRelu6ExactlyByDefault()
    {
        var model = TestData.ZooModelPath("mobilenet_v2");
        using var temp = TestData.NewTempFolder();
        var (code, stdout, stderr) = SharpQuant.Tests.Cli.InspectCommandTests.Run("equalize", model, "-o", temp.File("eq.onnx"));
        Assert.True(code == 0, stderr);
        Assert.Contains("equalization sets: 3 pairs, 17 depthwise triples", stdout);
        Assert.Contains("as Relu and a per-channel Min (exact)", stdout);

        var (skipCode, skipOut, skipErr) = SharpQuant.Tests.Cli.InspectCommandTests.Run("equalize", model, "-o", temp.File("skip.onnx"), "--relu6", "skip");
        Assert.True(skipCode == 0, skipErr);
        Assert.Contains("equalization sets: 2 pairs, 0 depthwise triples", skipOut);
    }
}
