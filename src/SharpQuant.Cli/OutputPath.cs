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
}
