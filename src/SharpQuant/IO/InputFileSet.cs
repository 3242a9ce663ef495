namespace SharpQuant.IO;

/// <summary>
/// Every file a command reads (the model and its external data, images, tensor files, labels), so that before
/// anything is written the output can be checked against all of them: by real path (links on the file or on any
/// folder resolved) and by (device, inode), which also catches a hard link. Statuses are taken when a file is added.
/// </summary>
public sealed class InputFileSet
{
    private readonly List<Entry> _files = [];

    /// <summary>The inputs as they were given, in the order added.</summary>
    public IReadOnlyList<string> Paths => _files.Select(f => f.Path).ToList();

    public InputFileSet Add(string path)
    {
        _files.Add(new Entry(path, RealPath.Resolve(path), FileStat.Of(path)));
        return this;
    }

    public InputFileSet AddRange(IEnumerable<string> paths)
    {
        foreach (var path in paths)
        {
            Add(path);
        }
        return this;
    }

    /// <summary>The input that writing <paramref name="output"/> would replace (the same file under any name), or null.</summary>
    public string? FindSameFile(string output)
    {
        var real = RealPath.Resolve(output);
        var status = FileStat.Of(output);
        foreach (var file in _files)
        {
            if (string.Equals(file.RealPath, real, StringComparison.Ordinal) ||
                (status is not null && file.Status is not null && status.IsSameFileAs(file.Status)))
            {
                return file.Path;
            }
        }
        return null;
    }

    /// <summary>Refuses an output that is one of the inputs, before anything is written.</summary>
    public void RequireNotAnInput(string output)
    {
        if (FindSameFile(output) is { } input)
        {
            throw new SharpQuantException(OutputIsInputMessage(output, input));
        }
    }

    public static string OutputIsInputMessage(string output, string input) =>
        $"the output '{output}' is also an input of this command ('{input}'); SharpQuant never overwrites its input";

    private sealed record Entry(string Path, string RealPath, FileStat? Status);
}
