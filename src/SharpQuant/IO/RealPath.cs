namespace SharpQuant.IO;

/// <summary>
/// The path with every symbolic link resolved, on every component (as realpath(3) does), so a check that a file lies
/// inside a folder cannot be walked around through a linked folder. ".." is applied after the link before it is
/// resolved, as the kernel does: with <c>sub → /etc</c>, <c>sub/../x</c> is <c>/x</c>, not the lexical <c>x</c>.
/// Components that do not exist are kept as they are.
/// </summary>
public static class RealPath
{
    /// <summary>Links followed on one path before giving up: Linux's own limit (MAXSYMLINKS).</summary>
    public const int MaxLinks = 40;

    public static string Resolve(string path)
    {
        FileStat.RequireNoNul(path);
        var absolute = Path.IsPathRooted(path) ? path : Path.Combine(Directory.GetCurrentDirectory(), path);
        var root = Path.GetPathRoot(absolute)!;
        // The components still to walk, the next one on top.
        var pending = new Stack<string>(Components(absolute[root.Length..]).Reverse());
        var current = root;
        var links = 0;
        while (pending.Count > 0)
        {
            var part = pending.Pop();
            if (part == ".")
            {
                continue;
            }
            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? root;
                continue;
            }
            var next = Path.Combine(current, part);
            var target = new FileInfo(next).LinkTarget;
            if (target is null)
            {
                current = next;
                continue;
            }
            if (++links > MaxLinks)
            {
                throw new IOException($"more than {MaxLinks} symbolic links on the way to '{path}' (a loop?)");
            }
            // The link's target replaces it: an absolute target restarts from its root, a relative one from the link's folder.
            var targetRoot = Path.GetPathRoot(target);
            if (!string.IsNullOrEmpty(targetRoot))
            {
                current = targetRoot;
                target = target[targetRoot.Length..];
            }
            foreach (var c in Components(target).Reverse())
            {
                pending.Push(c);
            }
        }
        return current;
    }

    /// <summary>Whether <paramref name="path"/> lies strictly inside <paramref name="folder"/> (both already resolved).</summary>
    public static bool IsInside(string path, string folder) =>
        path.StartsWith(Path.EndsInDirectorySeparator(folder) ? folder : folder + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    private static IEnumerable<string> Components(string relative) =>
        relative.Split([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar], StringSplitOptions.RemoveEmptyEntries);
}
