using System.Runtime.InteropServices;

namespace SharpQuant.IO;

/// <summary>
/// stat(2) through the C library, because System.IO says neither a file's type beyond file/folder/link nor its
/// (device, inode). Linux uses statx(2), whose buffer has one layout on every architecture; macOS uses stat(2) with
/// 64-bit inodes (the same layout on arm64 and x86_64). Elsewhere nothing is known.
/// </summary>
internal static partial class NativeStat
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1;
    private const uint StatxIno = 0x100;
    private const int ENOENT = 2;
    private const int ENOTDIR = 20;

    // The type bits of st_mode (S_IFMT and its values), the same on Linux and macOS.
    private const int TypeMask = 0xF000;

    public static bool IsSupported => OperatingSystem.IsLinux() || OperatingSystem.IsMacOS();

    /// <summary>The kind and (device, inode) of the path, or null where the platform has no stat; Missing when it does not exist.</summary>
    public static FileStat? Query(string path, bool followLinks)
    {
        int result;
        int mode;
        ulong device, inode;
        if (OperatingSystem.IsLinux())
        {
            result = statx(AtFdCwd, path, followLinks ? 0 : AtSymlinkNoFollow, StatxType | StatxIno, out var buffer);
            (mode, device, inode) = (buffer.Mode, ((ulong)buffer.DeviceMajor << 32) | buffer.DeviceMinor, buffer.Inode);
        }
        else if (OperatingSystem.IsMacOS())
        {
            MacStatBuffer buffer;
            if (RuntimeInformation.ProcessArchitecture == Architecture.X64)
            {
                result = followLinks ? mac_stat_x64(path, out buffer) : mac_lstat_x64(path, out buffer);
            }
            else
            {
                result = followLinks ? mac_stat(path, out buffer) : mac_lstat(path, out buffer);
            }
            (mode, device, inode) = (buffer.Mode, unchecked((uint)buffer.Device), buffer.Inode);
        }
        else
        {
            return null;
        }
        if (result != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno is ENOENT or ENOTDIR
                ? new FileStat(FileKind.Missing, 0, 0)
                : throw new IOException($"cannot read the status of '{path}' (errno {errno})");
        }
        return new FileStat(KindOf(mode), device, inode);
    }

    private static FileKind KindOf(int mode) => (mode & TypeMask) switch
    {
        0x8000 => FileKind.Regular,
        0x4000 => FileKind.Directory,
        0xA000 => FileKind.SymbolicLink,
        0x1000 => FileKind.Fifo,
        0x2000 => FileKind.CharacterDevice,
        0x6000 => FileKind.BlockDevice,
        0xC000 => FileKind.Socket,
        _ => FileKind.Unknown,
    };

    /// <summary>struct statx (linux/stat.h): only the fields read here are named.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct StatxBuffer
    {
        [FieldOffset(28)] public ushort Mode;
        [FieldOffset(32)] public ulong Inode;
        [FieldOffset(136)] public uint DeviceMajor;
        [FieldOffset(140)] public uint DeviceMinor;
    }

    /// <summary>struct stat of macOS with 64-bit inodes (sys/stat.h): only the fields read here are named.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 144)]
    private struct MacStatBuffer
    {
        [FieldOffset(0)] public int Device;
        [FieldOffset(4)] public ushort Mode;
        [FieldOffset(8)] public ulong Inode;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, out StatxBuffer buffer);

    [DllImport("libc", EntryPoint = "stat", SetLastError = true)]
    private static extern int mac_stat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, out MacStatBuffer buffer);

    [DllImport("libc", EntryPoint = "lstat", SetLastError = true)]
    private static extern int mac_lstat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, out MacStatBuffer buffer);

    // On x86_64 the unsuffixed names are the old 32-bit-inode calls; the 64-bit ones carry this suffix.
    [DllImport("libc", EntryPoint = "stat$INODE64", SetLastError = true)]
    private static extern int mac_stat_x64([MarshalAs(UnmanagedType.LPUTF8Str)] string path, out MacStatBuffer buffer);

    [DllImport("libc", EntryPoint = "lstat$INODE64", SetLastError = true)]
    private static extern int mac_lstat_x64([MarshalAs(UnmanagedType.LPUTF8Str)] string path, out MacStatBuffer buffer);
}
