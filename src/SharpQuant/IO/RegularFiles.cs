namespace SharpQuant.IO;

/// <summary>
/// Inputs are opened only when they are regular files: opening a FIFO for reading blocks until something writes to
/// it, and a device may never end. The check reads the file's status, without opening it.
/// </summary>
public static class RegularFiles
{
    /// <summary>Why the path cannot be read as an input file ("is a FIFO (named pipe), not a regular file"); null when it can, or when it does not exist (the caller says so in its own words).</summary>
    public static string? Problem(string path)
    {
        var status = FileStat.Of(path);
        return status is null || status.Kind is FileKind.Regular or FileKind.Missing
            ? null
            : $"is {FileStat.Describe(status.Kind)}, not a regular file";
    }
}
