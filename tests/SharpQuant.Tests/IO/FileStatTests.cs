using SharpQuant.IO;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.IO;

/// <summary>The file status read through the C library: kinds, and the identity that links share.</summary>
public class FileStatTests
{
    [SkippableFact]
    public void KindsOfFiles()
    {
        SpecialFiles.RequirePosix();
        using var temp = TestData.NewTempFolder();
        var file = temp.File("a.bin");
        File.WriteAllBytes(file, [1, 2, 3]);
        var fifo = SpecialFiles.Fifo(temp.File("pipe"));
        var link = temp.File("link");
        File.CreateSymbolicLink(link, file);

        Assert.Equal(FileKind.Regular, FileStat.Of(file)!.Kind);
        Assert.Equal(FileKind.Directory, FileStat.Of(temp.Path)!.Kind);
        Assert.Equal(FileKind.Fifo, FileStat.Of(fifo)!.Kind);
        Assert.Equal(FileKind.CharacterDevice, FileStat.Of("/dev/null")!.Kind);
        Assert.Equal(FileKind.Missing, FileStat.Of(temp.File("nothing"))!.Kind);
        Assert.Equal(FileKind.Missing, FileStat.Of(Path.Combine(file, "below-a-file"))!.Kind);
        Assert.Equal(FileKind.Regular, FileStat.Of(link)!.Kind);
        Assert.Equal(FileKind.SymbolicLink, FileStat.Of(link, followLinks: false)!.Kind);
        Assert.Equal("is a FIFO (named pipe), not a regular file", RegularFiles.Problem(fifo));
        Assert.Null(RegularFiles.Problem(link));
        Assert.Null(RegularFiles.Problem(file));
    }

    [SkippableFact]
    public void LinksAndHardLinksAreTheSameFileAndCopiesAreNot()
    {
        SpecialFiles.RequirePosix();
        using var temp = TestData.NewTempFolder();
        var file = temp.File("a.bin");
        File.WriteAllBytes(file, [1, 2, 3]);
        var hard = SpecialFiles.HardLink(file, temp.File("hard.bin"));
        var soft = temp.File("soft.bin");
        File.CreateSymbolicLink(soft, file);
        var copy = temp.File("copy.bin");
        File.Copy(file, copy);
        var original = FileStat.Of(file)!;

        Assert.True(original.IsSameFileAs(FileStat.Of(hard)!));
        Assert.True(original.IsSameFileAs(FileStat.Of(soft)!));
        Assert.False(original.IsSameFileAs(FileStat.Of(soft, followLinks: false)!));
        Assert.False(original.IsSameFileAs(FileStat.Of(copy)!));
        Assert.NotEqual(0UL, original.Inode);
        Assert.False(FileStat.Of(temp.File("x"))!.IsSameFileAs(FileStat.Of(temp.File("y"))!));
    }

    [Fact]
    public void PathWithANulByteIsBadInput()
    {
        var e = Assert.Throws<SharpQuantException>(() => FileStat.Of("weights\0.bin"));
        Assert.Equal("the path 'weights\\0.bin' contains a NUL byte, which no file name can hold", e.Message);
    }
}
