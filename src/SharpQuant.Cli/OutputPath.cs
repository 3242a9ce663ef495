using SharpQuant.IO;

namespace SharpQuant.Cli;

/// <summary>Checks an output path before any work is done: never the input, and a folder that can hold it.</summary>
public static class OutputPath
{
    public static string Check(string output, params string[] inputs)
    {
        foreach (var input in inputs)
        {
            if (AtomicFile.SameFile(output, input))
            {
                throw new UsageException($"the output '{output}' is the input file; SharpQuant never overwrites its input");
            }
        }
        if (Directory.Exists(output))
        {
            throw new UsageException($"the output '{output}' is a folder; give a file name");
        }
        return output;
    }

    /// <summary>
    /// Fails at once, before minutes of work, when the output's folder cannot be created or written: creates the
    /// folder (as the atomic write would) and a probe file that is deleted on close.
    /// </summary>
    public static void CheckWritable(string output)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(output)) ?? ".";
        try
        {
            Directory.CreateDirectory(folder);
            using var probe = new FileStream(Path.Combine(folder, $".sharpquant-probe-{Guid.NewGuid():N}.tmp"), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SharpQuantException($"cannot write '{output}': {e.Message}", e);
        }
    }
}
