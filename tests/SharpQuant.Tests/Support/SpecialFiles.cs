using System.Runtime.InteropServices;

namespace SharpQuant.Tests.Support;

/// <summary>Files System.IO cannot make: FIFOs and hard links, through the C library (Linux and macOS only).</summary>
public static class SpecialFiles
{
    /// <summary>Skips the test where there is no POSIX file system to make them on.</summary>
    public static void RequirePosix() => Skip.IfNot(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "needs FIFOs and hard links (Linux or macOS)");

    public static string Fifo(string path)
    {
        if (mkfifo(path, Convert.ToInt32("644", 8)) != 0)
        {
            throw new IOException($"mkfifo '{path}' failed (errno {Marshal.GetLastPInvokeError()})");
        }
        return path;
    }

    public static string HardLink(string existing, string path)
    {
        if (link(existing, path) != 0)
        {
            throw new IOException($"link '{path}' failed (errno {Marshal.GetLastPInvokeError()})");
        }
        return path;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int mkfifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int mode);

    [DllImport("libc", SetLastError = true)]
    private static extern int link([MarshalAs(UnmanagedType.LPUTF8Str)] string existing, [MarshalAs(UnmanagedType.LPUTF8Str)] string path);
}
