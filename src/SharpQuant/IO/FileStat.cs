namespace SharpQuant.IO;

/// <summary>
/// What a path names and which file it is: its kind and its (device, inode), so that two names of one file (a link,
/// a hard link, a path through a linked folder) are recognised as the same file. Read without opening the file,
/// so asking about a FIFO does not block.
/// </summary>
public sealed record FileStat(FileKind Kind, ulong Device, ulong Inode)
{
    /// <summary>
    /// The status of the file the path leads to (links followed, or with <paramref name="followLinks"/> false the
    /// link itself); null where the platform offers no stat (then only names can be compared).
    /// </summary>
    public static FileStat? Of(string path, bool followLinks = true)
    {
        RequireNoNul(path);
        return NativeStat.Query(Path.GetFullPath(path), followLinks);
    }

    /// <summary>Whether both are existing files and the same one.</summary>
    public bool IsSameFileAs(FileStat other) =>
        Kind != FileKind.Missing && other.Kind != FileKind.Missing && Device == other.Device && Inode == other.Inode;

    /// <summary>
    /// A path with a NUL byte cannot name a file: the C library would read it only up to the NUL, a different path.
    /// Refused as bad input rather than the ArgumentException System.IO throws.
    /// </summary>
    public static void RequireNoNul(string path)
    {
        if (path.Contains('\0'))
        {
            throw new SharpQuantException($"the path '{path.Replace("\0", "\\0", StringComparison.Ordinal)}' contains a NUL byte, which no file name can hold");
        }
    }

    /// <summary>The kind in words, for error messages ("a FIFO (named pipe)").</summary>
    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Missing => "missing",
        FileKind.Regular => "a regular file",
        FileKind.Directory => "a folder",
        FileKind.SymbolicLink => "a symbolic link",
        FileKind.Fifo => "a FIFO (named pipe)",
        FileKind.CharacterDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        FileKind.Socket => "a socket",
        _ => "a special file",
    };
}
