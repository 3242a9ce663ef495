using SharpQuant.IO;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.IO;

/// <summary>realpath(3) semantics: every link resolved, ".." applied to what a link led to.</summary>
public class RealPathTests
{
    [SkippableFact]
    public void ResolvesLinksOnEveryComponent()
    {
        SpecialFiles.RequirePosix();
        using var temp = TestData.NewTempFolder();
        var root = RealPath.Resolve(temp.Path);
        Directory.CreateDirectory(Path.Combine(root, "a", "b"));
        File.WriteAllText(Path.Combine(root, "a", "b", "f.txt"), "x");
        Directory.CreateSymbolicLink(Path.Combine(root, "la"), "a");
        File.CreateSymbolicLink(Path.Combine(root, "a", "b", "lf"), "f.txt");
        Directory.CreateSymbolicLink(Path.Combine(root, "lb"), Path.Combine(root, "a", "b"));

        Assert.Equal(Path.Combine(root, "a", "b", "f.txt"), RealPath.Resolve(Path.Combine(root, "la", "b", "lf")));
        Assert.Equal(Path.Combine(root, "a", "b", "f.txt"), RealPath.Resolve(Path.Combine(root, "la", ".", "b", "..", "b", "f.txt")));
        // ".." after lb is the parent of a/b, not of lb.
        Assert.Equal(Path.Combine(root, "a", "x"), RealPath.Resolve(Path.Combine(root, "lb", "..", "x")));
        Assert.Equal(Path.Combine(root, "a", "missing", "y"), RealPath.Resolve(Path.Combine(root, "la", "missing", "y")));
        Assert.Equal("/", RealPath.Resolve("/.."));
    }

    [Fact]
    public void InsideMeansStrictlyBelow()
    {
        var sep = Path.DirectorySeparatorChar;
        Assert.True(RealPath.IsInside($"{sep}m{sep}w.bin", $"{sep}m"));
        Assert.True(RealPath.IsInside($"{sep}m{sep}w.bin", $"{sep}m{sep}"));
        Assert.False(RealPath.IsInside($"{sep}m", $"{sep}m"));
        Assert.False(RealPath.IsInside($"{sep}model2{sep}w.bin", $"{sep}model"));
        Assert.True(RealPath.IsInside($"{sep}w.bin", $"{sep}"));
    }
}
