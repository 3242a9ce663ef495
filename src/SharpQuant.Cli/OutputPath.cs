using SharpQuant.Data;
using SharpQuant.IO;
using SharpQuant.Onnx;

namespace SharpQuant.Cli;

/// <summary>Checks an output path before any work is done: never an input, and a folder that can hold it.</summary>
public static class OutputPath
{
    /// <summary>
    /// Checks the output against what the command reads: each of <paramref name="inputs"/> is a model (with its
    /// external data), a folder of images (every image file in it) or any other file; nulls (options not given) are
    /// left out.
    /// </summary>
    public static string Check(string output, params string?[] inputs)
    {
        CheckName(output, inputs);
        var files = new InputFileSet();
        foreach (var input in inputs.OfType<string>())
        {
            AddInput(files, input);
        }
        return CheckAgainst(output, files);
    }

    /// <summary>Checks the output against a set of inputs the command collected (tensor files, say) itself.</summary>
    public static string Check(string output, InputFileSet inputs)
    {
        CheckName(output, inputs.Paths);
        return CheckAgainst(output, inputs);
    }

    private static string CheckAgainst(string output, InputFileSet inputs)
    {
        // Found by the files themselves (a link, a hard link, a model's external data, a file in an image folder):
        // bad input, exit 2. The same path given twice on the command line is a usage error (CheckName).
        if (inputs.FindSameFile(output) is { } input)
        {
            throw new SharpQuantException(InputFileSet.OutputIsInputMessage(output, input));
        }
        // Bad input: a FIFO, socket or block device that exists under that name (a character device is written as it is).
        OutputTarget.For(output);
        return output;
    }

    /// <summary>Adds what reading <paramref name="input"/> reads: a model and its external data, a folder's image files, or the file.</summary>
    public static void AddInput(InputFileSet files, string input)
    {
        if (Directory.Exists(input))
        {
            // An image folder, or a tensor folder: DIR/*.npy, or DIR/<input name>/*.npy for several inputs.
            files.AddRange(ImageFiles.List(input));
            files.AddRange(Directory.EnumerateFiles(input, "*.npy", new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 1 }));
        }
        else if (File.Exists(input) && string.Equals(Path.GetExtension(input), ".onnx", StringComparison.OrdinalIgnoreCase))
        {
            files.AddRange(OnnxModel.FilesRead(input));
        }
        else
        {
            files.Add(input);
        }
    }

    /// <summary>Usage errors: the command line itself names no file to write, or names an input.</summary>
    private static void CheckName(string output, IEnumerable<string?> inputs)
    {
        if (string.IsNullOrWhiteSpace(output))
        {
            throw new UsageException("the output path is empty; give a file name");
        }
        if (Path.EndsInDirectorySeparator(output))
        {
            throw new UsageException($"the output '{output}' ends in a folder separator; give a file name");
        }
        foreach (var input in inputs.OfType<string>())
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
            using var probe = new FileStream(TempFiles.For(Path.Combine(folder, "sharpquant-probe")), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
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
