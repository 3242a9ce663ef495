namespace SharpQuant.IO;

/// <summary>
/// Writes files so that a reader never sees half a file: the content goes to a temporary file in the same folder,
/// which is moved into place only when complete. A failure removes the temporary file (and the folders the write
/// created) and leaves the target as it was; temporaries that killed runs left behind are removed by the next write
/// beside them (see <see cref="TempFiles"/>). A character device such as /dev/null, or one of this process's own
/// streams (/dev/stdout), is written directly instead; other special files are refused (see <see cref="OutputTarget"/>).
/// </summary>
public static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        var target = OutputTarget.For(path);
        if (target.WriteInPlace)
        {
            WriteInPlace(target.FullPath, write);
            return;
        }
        var full = target.FullPath;
        var folder = Path.GetDirectoryName(full) ?? ".";
        var created = CreatedFolders.Create(folder);
        TempFiles.RemoveStale(folder);
        var temp = TempFiles.For(full);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            created.RemoveIfEmpty();
            throw;
        }
    }

    /// <summary>
    /// Writes into the device or stream as it is: nothing to rename, nothing to truncate. A seekable one (a
    /// terminal is not; /dev/stdout redirected to a file is) is appended to, as the shell's <c>&gt;&gt;</c> would.
    /// </summary>
    private static void WriteInPlace(string path, Action<Stream> write)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        if (stream.CanSeek)
        {
            stream.Seek(0, SeekOrigin.End);
        }
        write(stream);
        stream.Flush();
    }

    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, s => s.Write(bytes));

    public static void WriteAllText(string path, string text) =>
        Write(path, s =>
        {
            using var writer = new StreamWriter(s, leaveOpen: true);
            writer.Write(text);
        });

    /// <summary>Refuses to write over an input: true when the two paths name the same file.</summary>
    public static bool SameFile(string a, string b) =>
        string.Equals(Path.GetFullPath(a), Path.GetFullPath(b), StringComparison.Ordinal);

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the temporary name is unique, and the next write beside it removes a leftover.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
