namespace SharpQuant.IO;

/// <summary>
/// What writing to a path means. A regular file (or a new name) is written atomically: a temporary file beside it,
/// moved into place. A character device (<c>/dev/null</c>, a terminal) or one of this process's own streams
/// (<c>/dev/stdout</c>, <c>/dev/fd/N</c>) is written directly, because renaming over it would replace the device
/// with a regular file. Anything else that exists and is not a regular file (a FIFO, a socket, a block device, a
/// folder) is refused: writing a model into a pipe or a disk is never what was meant.
/// </summary>
public sealed record OutputTarget(string FullPath, bool WriteInPlace)
{
    // The names through which a process reaches its own open files on Linux and macOS.
    private static readonly string[] ProcessStreamPrefixes = ["/dev/fd/", "/proc/self/fd/"];
    private static readonly string[] ProcessStreams = ["/dev/stdout", "/dev/stderr"];

    /// <summary>Classifies the path, refusing with a <see cref="SharpQuantException"/> what cannot be an output.</summary>
    public static OutputTarget For(string path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new SharpQuantException("the output path is empty; give a file name");
        }
        FileStat.RequireNoNul(path);
        if (Path.EndsInDirectorySeparator(path))
        {
            throw new SharpQuantException($"the output '{path}' ends in a folder separator; give a file name");
        }
        var full = Path.GetFullPath(path);
        if (IsProcessStream(full))
        {
            return new OutputTarget(full, WriteInPlace: true);
        }
        var status = FileStat.Of(full);
        return status?.Kind switch
        {
            null or FileKind.Missing or FileKind.Regular => new OutputTarget(full, WriteInPlace: false),
            FileKind.CharacterDevice => new OutputTarget(full, WriteInPlace: true),
            FileKind.Directory => throw new SharpQuantException($"the output '{path}' is a folder; give a file name"),
            var kind => throw new SharpQuantException(
                $"the output '{path}' is {FileStat.Describe(kind.Value)}; SharpQuant writes only regular files and character devices such as /dev/null"),
        };
    }

    private static bool IsProcessStream(string full) =>
        NativeStat.IsSupported &&
        (ProcessStreams.Contains(full, StringComparer.Ordinal) || ProcessStreamPrefixes.Any(p => full.StartsWith(p, StringComparison.Ordinal)));
}
