using SharpQuant.Data;

namespace SharpQuant.Tests.Support;

/// <summary>Batches of the shared photos, preprocessed for each model (decoded once per test process).</summary>
public static class RealImages
{
    private static readonly Lazy<IReadOnlyList<RgbImage>> Photos = new(() =>
        ImageFiles.List(TestData.ImagesFolder).Select(ImageFiles.Decode).ToList());

    private static readonly Lazy<Tensor> ResNet18Tensor = new(() =>
    {
        using var preset = new ResNet18Preset();
        return ImagePreset.Batch(Photos.Value.Take(4).Select(preset.ToTensor).ToList());
    });

    private static readonly Lazy<Tensor> PpocrTensor = new(() =>
    {
        var preset = new PpocrClsPreset();
        return ImagePreset.Batch(Photos.Value.Select(preset.ToTensor).ToList());
    });

    /// <summary>Four photos as a ResNet18 batch [4, 3, 224, 224].</summary>
    public static Tensor ResNet18Batch()
    {
        TestData.RequireSharedData();
        return ResNet18Tensor.Value;
    }

    /// <summary>All nine photos through the ppocr-cls preset [9, 3, 48, 192].</summary>
    public static Tensor PpocrBatch()
    {
        TestData.RequireSharedData();
        return PpocrTensor.Value;
    }
}
