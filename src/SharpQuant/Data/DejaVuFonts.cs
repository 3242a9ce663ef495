using SkiaSharp;

namespace SharpQuant.Data;

/// <summary>
/// The DejaVu typefaces the rendered text lines use, loaded from font files: SkiaSharp is built without
/// fontconfig here, so system font lookup by family name finds nothing.
/// </summary>
public sealed class DejaVuFonts : IDisposable
{
    /// <summary>Where Debian and Ubuntu's fonts-dejavu-core package installs the fonts.</summary>
    public const string DefaultFolder = "/usr/share/fonts/truetype/dejavu";

    /// <summary>The package that provides <see cref="DefaultFolder"/>, named in the error when no font is found.</summary>
    public const string Package = "fonts-dejavu-core";

    /// <summary>
    /// The six faces fonts-dejavu-core ships, in a fixed order. Only these are used (not the condensed or oblique
    /// faces of fonts-dejavu-extra) so that a seed renders the same lines whether or not the extra package is present.
    /// </summary>
    public static readonly IReadOnlyList<string> FileNames =
    [
        "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf",
        "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf",
    ];

    private readonly SKTypeface[] _typefaces;
    private bool _disposed;

    public DejaVuFonts(string? folder = null)
    {
        Folder = folder ?? DefaultFolder;
        var files = new List<string>();
        var typefaces = new List<SKTypeface>();
        foreach (var name in FileNames)
        {
            var path = Path.Combine(Folder, name);
            if (!File.Exists(path))
            {
                continue;
            }
            var typeface = SKTypeface.FromFile(path)
                ?? throw new SharpQuantException($"font file '{path}' cannot be loaded (reinstall the Debian package {Package})");
            files.Add(path);
            typefaces.Add(typeface);
        }
        if (typefaces.Count == 0)
        {
            throw new SharpQuantException(
                $"no DejaVu font ({string.Join(", ", FileNames)}) found in '{Folder}'; install the Debian package {Package} (apt-get install {Package}) or pass the folder that holds the fonts");
        }
        Files = files;
        _typefaces = typefaces.ToArray();
    }

    public string Folder { get; }

    /// <summary>The font files found, in <see cref="FileNames"/> order; an index into this list selects a face.</summary>
    public IReadOnlyList<string> Files { get; }

    public int Count => _typefaces.Length;

    public SKTypeface this[int index]
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _typefaces[index];
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        foreach (var typeface in _typefaces)
        {
            typeface.Dispose();
        }
    }
}
