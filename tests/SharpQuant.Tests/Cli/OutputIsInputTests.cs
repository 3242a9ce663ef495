using SharpQuant.Cli;
using SharpQuant.IO;
using SharpQuant.Onnx;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Cli;

/// <summary>
/// An output that is an input under another name (a link, a hard link, a linked folder, the model's external data,
/// a photo of the image folder) is refused before anything is written, and the input stays as it was.
/// </summary>
public class OutputIsInputTests
{
    private static string OneLine(string stderr) => Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));

    private static string Model(TempFolder temp, string name = "in.onnx")
    {
        var path = temp.File(name);
        File.WriteAllBytes(path, ProtoModels.AddRelu().Bytes());
        return path;
    }

    private static void AssertRefused(string[] args, string output, string input, string protectedFile)
    {
        var before = File.ReadAllBytes(protectedFile);
        var (code, stdout, stderr) = InspectCommandTests.Run(args);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Equal($"error: the output '{output}' is also an input of this command ('{input}'); SharpQuant never overwrites its input", OneLine(stderr));
        Assert.Equal("", stdout);
        Assert.Equal(before, File.ReadAllBytes(protectedFile));
    }

    [SkippableFact]
    public void TheInputThroughALinkIsNotReplaced()
    {
        SpecialFiles.RequirePosix();
        using var temp = TestData.NewTempFolder();
        var input = Model(temp);
        var link = temp.File("link.onnx");
        File.CreateSymbolicLink(link, "in.onnx");
        AssertRefused(["fold", link, "-o", input], input, link, input);
        AssertRefused(["fold", input, "-o", link], link, input, input);
        Assert.Equal(FileKind.SymbolicLink, FileStat.Of(link, followLinks: false)!.Kind);
    }

    [SkippableFact]
    public void TheInputThroughAHardLinkOrALinkedFolderIsNotReplaced()
    {
        SpecialFiles.RequirePosix();
        using var temp = TestData.NewTempFolder();
        var input = Model(temp);
        var hard = SpecialFiles.HardLink(input, temp.File("hard.onnx"));
        AssertRefused(["equalize", input, "-o", hard], hard, input, input);

        Directory.CreateSymbolicLink(temp.File("via"), temp.Path);
        var throughFolder = Path.Combine(temp.File("via"), "in.onnx");
        AssertRefused(["fold", input, "-o", throughFolder], throughFolder, input, input);
    }

    [Fact]
    public void TheModelsExternalDataIsNotReplaced()
    {
        using var temp = TestData.NewTempFolder();
        var model = ExternalDataModels.Write(temp.File("model.onnx"), "weights.bin", temp.File("weights.bin"));
        var weights = temp.File("weights.bin");
        Assert.Equal([model, weights], OnnxModel.FilesRead(model));
        AssertRefused(["fold", model, "-o", weights], weights, weights, weights);
        // The model still loads with its own weights.
        Assert.Equal(ExternalDataModels.Constant, OnnxModel.Load(model).GetValue("c").ConstantValue!.ToArray<float>());
    }

    [Fact]
    public void APhotoOfTheImageFolderIsNotReplaced()
    {
        using var temp = TestData.NewTempFolder();
        var model = Model(temp);
        var images = Directory.CreateDirectory(temp.File("images")).FullName;
        var photo = Path.Combine(images, "samoyed.png");
        File.WriteAllBytes(photo, PngBytes.Gradient(32, 24));
        AssertRefused(["quantize", model, "--images", images, "-o", photo], photo, photo, photo);
        AssertRefused(["report", model, "--images", images, "-o", photo], photo, photo, photo);
    }

    [SkippableFact]
    public void TheSetComparesRealPathsAndInodes()
    {
        SpecialFiles.RequirePosix();
        using var temp = TestData.NewTempFolder();
        var input = Model(temp);
        File.Copy(input, temp.File("copy.onnx"));
        var hard = SpecialFiles.HardLink(input, temp.File("hard.onnx"));
        var set = new InputFileSet().Add(input).AddRange([temp.File("labels.txt")]);
        Assert.Equal([input, temp.File("labels.txt")], set.Paths);
        Assert.Equal(input, set.FindSameFile(hard));
        Assert.Equal(input, set.FindSameFile(Path.Combine(temp.Path, ".", "in.onnx")));
        Assert.Null(set.FindSameFile(temp.File("copy.onnx")));
        Assert.Null(set.FindSameFile(temp.File("new.onnx")));
        // A file named as an input that does not exist yet is still that input.
        Assert.Equal(temp.File("labels.txt"), set.FindSameFile(temp.File("labels.txt")));
        var e = Assert.Throws<SharpQuantException>(() => set.RequireNotAnInput(hard));
        Assert.Contains($"is also an input of this command ('{input}')", e.Message);
    }
}
