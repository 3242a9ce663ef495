using SharpQuant.IO;

namespace SharpQuant.Cli;

/// <summary>Checks an output path before any work is done: never the input, and a folder that can hold it.</summary>
public static class OutputPath
{
    public static string Check(string output, params string[] inputs)
    {
        // Usage errors: the command line itself names no file to write.
        if (string.IsNullOrWhiteSpace(output))
        {
            throw new UsageException("the output path is empty; give a file name");
        }
        if (Path.EndsInDirectorySeparator(output))
        {
            throw new UsageException($"the output '{output}' ends in a folder separator; give a file name");
        }
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
        // Bad input: a FIFO, socket or block device that exists under that name (a character device is written as it is).
        OutputTarget.For(output);
        return output;
    }

    /// <summary>
    /// Fails at once, before minutes of work, when the output's folder cannot be created or written: creates the
    /// folder (as the atomic write would) and a probe file that is deleted on close, then removes the folders it
    /// created, so a run that fails later leaves none behind. A device written in place needs no probe.
    /// </summary>
    public static void CheckWritable(string output)
    {
        if (OutputTarget.For(output).WriteInPlace)
        {
            return;
        }
        var folder = Path.GetDirectoryName(Path.GetFullPath(output)) ?? ".";
        CreatedFolders? created = null;
        try
        {
            created = CreatedFolders.Create(folder);
            using var probe = new FileStream(Path.Combine(folder, $".sharpquant-probe-{Guid.NewGuid():N}.tmp"), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SharpQuantException($"cannot write '{output}': {e.Message}", e);
        }
        finally
        {
            created?.RemoveIfEmpty();
        }
    }
}
