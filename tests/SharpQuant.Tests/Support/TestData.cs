namespace SharpQuant.Tests.Support;

/// <summary>
/// Finds the shared test data (../shared/data beside the repository). Tests that need it call
/// <see cref="RequireSharedData"/>: without the folder they are skipped with a message, except under CI
/// (CI=true), where a missing folder is a failure.
/// </summary>
public static class TestData
{
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string SharedDataFolder => Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "data"));

    public static string PpocrModelPath => Path.Combine(SharedDataFolder, "models", "ppocr-cls", "ch_ppocr_mobile_v2.0_cls_infer.onnx");

    public static string ImagesFolder => Path.Combine(SharedDataFolder, "images");

    /// <summary>A torchvision export of the model zoo (../shared/data/zoo, made by its export.py), e.g. "mobilenet_v3_small".</summary>
    public static string ZooModelPath(string name)
    {
        RequireSharedData();
        return Path.Combine(SharedDataFolder, "zoo", name + ".onnx");
    }

    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Skips the test (or fails it under CI) when the shared data folder is missing.</summary>
    public static void RequireSharedData()
    {
        if (Directory.Exists(SharedDataFolder))
        {
            return;
        }
        var message = $"shared test data not found at {SharedDataFolder}";
        if (IsCi)
        {
            throw new InvalidOperationException(message + " (CI=true: shared data is required)");
        }
        Skip.If(true, message + "; skipping (set up ../shared/data to run this test)");
    }

    /// <summary>
    /// Skips the test (or fails it under CI, whose script installs them) when the DejaVu fonts the rendered
    /// text lines need are missing: a fresh machine with only the .NET SDK may lack them.
    /// </summary>
    public static void RequireFonts()
    {
        if (Directory.Exists(SharpQuant.Data.DejaVuFonts.DefaultFolder))
        {
            return;
        }
        var message = $"DejaVu fonts not found at {SharpQuant.Data.DejaVuFonts.DefaultFolder} (Debian package {SharpQuant.Data.DejaVuFonts.Package})";
        if (IsCi)
        {
            throw new InvalidOperationException(message + " (CI=true: .ci/run installs them)");
        }
        Skip.If(true, message + "; skipping");
    }

    /// <summary>The ONNX project's backend test corpus (Debian package libonnx-testdata): one folder per model, with test_data_set_*.</summary>
    public const string OnnxTestDataFolder = "/usr/share/libonnx-testdata/data";

    /// <summary>Skips the test (or fails it under CI, whose script installs it) when the ONNX backend test corpus is missing.</summary>
    public static void RequireOnnxTestData()
    {
        if (Directory.Exists(OnnxTestDataFolder))
        {
            return;
        }
        var message = $"ONNX backend test corpus not found at {OnnxTestDataFolder} (Debian package libonnx-testdata)";
        if (IsCi)
        {
            throw new InvalidOperationException(message + " (CI=true: .ci/run installs it)");
        }
        Skip.If(true, message + "; skipping");
    }

    /// <summary>A fresh empty folder under the system temp folder, removed by the caller's dispose.</summary>
    public static TempFolder NewTempFolder() => new();

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SharpQuant.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("cannot find the repository root (SharpQuant.slnx) above " + AppContext.BaseDirectory);
    }
}

public sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "sharpquant-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
