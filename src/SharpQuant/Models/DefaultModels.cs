namespace SharpQuant.Models;

/// <summary>
/// The models that ship with SharpQuant: the ImageNet-trained ResNet18 backbone (and its preprocessing model)
/// from the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18, copied next to every program at build time.
/// </summary>
public static class DefaultModels
{
    public const string ResNet18FileName = "ResNet18.onnx";
    public const string ResNet18PreprocessFileName = "ResNetPreprocess.onnx";

    /// <summary>The folder the build copies the ResNet18 files into, below the program's own folder.</summary>
    public static string ResNet18Folder => Path.Combine(AppContext.BaseDirectory, "models", "resnet18");

    public static string ResNet18Path => Require(Path.Combine(ResNet18Folder, ResNet18FileName));

    public static string ResNet18PreprocessPath => Require(Path.Combine(ResNet18Folder, ResNet18PreprocessFileName));

    private static string Require(string path) =>
        File.Exists(path)
            ? path
            : throw new SharpQuantException(
                $"the default model is missing at '{path}'; it comes from the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 during the build (run 'dotnet build')");
}
