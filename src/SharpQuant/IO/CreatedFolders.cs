namespace SharpQuant.IO;

/// <summary>
/// The folders a write had to create for its output, so that a failed write can remove them again: a command that
/// fails leaves the file system as it found it, without an empty <c>DIR/</c> behind.
/// </summary>
public sealed class CreatedFolders
{
    private readonly List<string> _created;

    private CreatedFolders(List<string> created) => _created = created;

    /// <summary>The folders created, outermost first.</summary>
    public IReadOnlyList<string> Paths => _created;

    /// <summary>Creates <paramref name="folder"/> and every missing folder above it, remembering which were new.</summary>
    public static CreatedFolders Create(string folder)
    {
        var missing = new List<string>();
        for (var f = Path.GetFullPath(folder); !Directory.Exists(f); f = Path.GetDirectoryName(f)!)
        {
            missing.Add(f);
            if (Path.GetDirectoryName(f) is null)
            {
                break;
            }
        }
        missing.Reverse();
        var created = new List<string>();
        try
        {
            foreach (var f in missing)
            {
                Directory.CreateDirectory(f);
                created.Add(f);
            }
        }
        catch
        {
            new CreatedFolders(created).RemoveIfEmpty();
            throw;
        }
        return new CreatedFolders(created);
    }

    /// <summary>Removes the created folders, innermost first, as long as they are still empty.</summary>
    public void RemoveIfEmpty()
    {
        for (var i = _created.Count - 1; i >= 0; i--)
        {
            try
            {
                if (Directory.Exists(_created[i]) && !Directory.EnumerateFileSystemEntries(_created[i]).Any())
                {
                    Directory.Delete(_created[i]);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Best effort: something else now uses the folder.
                return;
            }
        }
    }
}
