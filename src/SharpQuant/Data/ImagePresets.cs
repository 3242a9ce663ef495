namespace SharpQuant.Data;

/// <summary>The named presets (the CLI's <c>--preset</c>).</summary>
public static class ImagePresets
{
    public static readonly IReadOnlyList<string> Names = ["resnet18", "imagenet", "ppocr-cls"];

    public static ImagePreset Create(string name) => name switch
    {
        "resnet18" => new ResNet18Preset(),
        "imagenet" => new ImageNetPreset(),
        "ppocr-cls" => new PpocrClsPreset(),
        _ => throw new SharpQuantException($"unknown preset '{name}' (use {string.Join(", ", Names)})"),
    };
}
