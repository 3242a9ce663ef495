using SharpQuant.Data;
using SharpQuant.Models;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Quantization;

namespace SharpQuant.Bench;

/// <summary>
/// What the sensitivity benches share: the first shared photos as one ResNet18 batch, and the default ResNet18
/// (dynamic batch, BatchNorm folded) with per-channel int8 weights and uint8 entropy activations.
/// </summary>
internal static class SensitivitySetup
{
    public static QConfig Config { get; } = QConfig.Default with { Activation = QuantSpec.FakeQuantAct with { Observer = ObserverKind.Entropy } };

    /// <summary>The first <paramref name="count"/> shared photos as one batch, or null (and a line saying so) without the data.</summary>
    public static Tensor? Photos(int count, TextWriter output)
    {
        var images = Path.GetFullPath(Path.Combine(PpocrResultsBenchmark.RepositoryRoot(), "..", "shared", "data", "images"));
        if (!Directory.Exists(images))
        {
            output.WriteLine($"skipped: {images} not found");
            return null;
        }
        using var preset = new ResNet18Preset();
        return ImagePreset.Batch(ImageFiles.List(images).Take(count).Select(f => preset.ToTensor(ImageFiles.Decode(f))).ToList());
    }

    /// <summary>The default ResNet18 with a dynamic batch and BatchNorm folded.</summary>
    public static Graph FoldedResNet18()
    {
        var graph = OnnxModel.Load(DefaultModels.ResNet18Path);
        graph.MakeBatchDynamic();
        return graph.FoldBatchNorm();
    }

    /// <summary>The quantized ResNet18 calibrated on <paramref name="batch"/>.</summary>
    public static QuantSim CalibratedResNet18(Tensor batch)
    {
        var sim = QuantSim.Prepare(FoldedResNet18(), new QConfigMapping().SetGlobal(Config));
        sim.Calibrate([batch]);
        return sim;
    }
}
