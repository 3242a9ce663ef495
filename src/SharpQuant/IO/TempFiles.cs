using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace SharpQuant.IO;

/// <summary>
/// The temporary files an atomic write leaves beside its output while it runs: <c>.NAME.sharpquant-PID-ID.tmp</c>,
/// hidden, named after the output, the tool and the writing process. A process killed mid-write (SIGKILL, power
/// loss) cannot remove its own, so every write first removes those of processes that no longer run. A temporary of
/// a running process, even another one writing to the same folder, is never touched; nor is any other file.
/// </summary>
public static partial class TempFiles
{
    /// <summary>The name of a new temporary file for <paramref name="target"/>, in its folder.</summary>
    public static string For(string target)
    {
        var full = Path.GetFullPath(target);
        var name = $".{Path.GetFileName(full)}.sharpquant-{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{Guid.NewGuid():N}.tmp";
        return Path.Combine(Path.GetDirectoryName(full) ?? ".", name);
    }

    /// <summary>The writing process of a temporary file of this tool, or null when the name is not one.</summary>
    public static int? WriterOf(string fileName)
    {
        var match = TempName().Match(fileName);
        return match.Success && int.TryParse(match.Groups["pid"].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            ? pid
            : null;
    }

    /// <summary>Removes the temporaries in <paramref name="folder"/> whose writer no longer runs; returns the paths removed.</summary>
    public static IReadOnlyList<string> RemoveStale(string folder)
    {
        var removed = new List<string>();
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateFiles(folder, ".*.tmp").ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return removed;
        }
        foreach (var path in candidates)
        {
            if (WriterOf(Path.GetFileName(path)) is not { } pid || IsRunning(pid) || !IsPlainFile(path))
            {
                continue;
            }
            try
            {
                File.Delete(path);
                removed.Add(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Best effort: a leftover that cannot be removed now harms nothing.
            }
        }
        return removed;
    }

    private static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId)
        {
            return true;
        }
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Only a regular file is removed, never a link placed under such a name (nor what it leads to).</summary>
    private static bool IsPlainFile(string path) =>
        FileStat.Of(path, followLinks: false) is { } status
            ? status.Kind == FileKind.Regular
            : !File.GetAttributes(path).HasFlag(FileAttributes.ReparsePoint);

    // This tool's names, and the names of versions before the "sharpquant-" marker (.NAME.PID.GUID.tmp, 32 hex digits).
    [GeneratedRegex(@"^\..+\.(?:sharpquant-(?<pid>[0-9]{1,10})-[0-9a-f]{32}|(?<pid>[0-9]{1,10})\.[0-9a-f]{32})\.tmp$", RegexOptions.CultureInvariant)]
    private static partial Regex TempName();
}
