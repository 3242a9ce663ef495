using SharpQuant.Runtime;

namespace SharpQuant.Data;

/// <summary>Images through a preset, fed to a model's one image input.</summary>
public sealed class ImageSource(ImageBatches images, string inputName) : IInputSource
{
    public ImageBatches Images { get; } = images;
    public string InputName { get; } = inputName;

    public IEnumerable<InputBatch> Batches() =>
        Images.Batches().Select(b => InputBatch.Of(InputName, b));

    public int ExpectedBatches => Images.ExpectedBatches;
    public IReadOnlyList<string> Samples => Images.Samples;
    public IReadOnlyList<SkippedImage> Skipped => Images.SkippedImages;
    public string Describe() => Images.Describe();
}
