namespace SharpQuant.IO;

/// <summary>What a path names, as the file system says (the type bits of stat's st_mode).</summary>
public enum FileKind
{
    /// <summary>Nothing: the path does not exist (or a folder on the way is not one).</summary>
    Missing,
    Regular,
    Directory,
    SymbolicLink,

    /// <summary>A named pipe: opening it for reading blocks until a writer comes.</summary>
    Fifo,
    CharacterDevice,
    BlockDevice,
    Socket,
    Unknown,
}
