using SharpQuant.IO;
using Proto = global::Onnx;

namespace SharpQuant.Onnx;

/// <summary>
/// Reads tensors stored in files beside the model. Only regular files inside the model's folder are read: an absolute
/// location, one that climbs out with "..", or a link (on the file or on a folder on the way) that leads outside is
/// refused, because a model file must not be able to make us read arbitrary files.
/// </summary>
internal sealed class ExternalDataResolver
{
    private readonly string _folder;

    // The folder with its own links resolved, once, when the first external tensor needs it.
    private readonly Lazy<string> _realFolder;

    public ExternalDataResolver(string modelFolder)
    {
        _folder = Path.GetFullPath(modelFolder);
        _realFolder = new Lazy<string>(() => RealPath.Resolve(_folder));
    }

    /// <summary>The real path of the file an external tensor is read from, after every check <see cref="Read"/> makes on it.</summary>
    public string PathOf(Proto.TensorProto tensor) => ResolveInsideFolder(LocationOf(tensor), tensor.Name);

    public byte[] Read(Proto.TensorProto tensor, long expectedBytes)
    {
        var entries = tensor.ExternalData.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
        var location = LocationOf(tensor);
        var path = ResolveInsideFolder(location, tensor.Name);
        var offset = entries.TryGetValue("offset", out var o) ? ParseNonNegative(o, "offset", tensor.Name) : 0;
        var length = entries.TryGetValue("length", out var l) ? ParseNonNegative(l, "length", tensor.Name) : expectedBytes;
        if (length != expectedBytes)
        {
            throw new ExternalDataException($"tensor '{tensor.Name}' declares {length} external bytes but its shape needs {expectedBytes}");
        }
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        if (offset + length > stream.Length)
        {
            throw new ExternalDataException(
                $"tensor '{tensor.Name}' reads bytes {offset}..{offset + length} of '{location}', which has only {stream.Length}");
        }
        stream.Seek(offset, SeekOrigin.Begin);
        var bytes = new byte[length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>
    /// The file to read: checked by name first (no absolute path, no climbing out with ".."), then by its real path,
    /// with every link resolved on every component, which must still lie inside the model's real folder: a linked
    /// folder (<c>sub → /etc</c>) must not lead out any more than a linked file does. The real path is what is read.
    /// </summary>
    private string ResolveInsideFolder(string location, string tensorName)
    {
        if (location.Contains('\0'))
        {
            throw new ExternalDataException(
                $"tensor '{tensorName}' has the external-data location '{location.Replace("\0", "\\0", StringComparison.Ordinal)}', which contains a NUL byte that no file name can hold");
        }
        if (Path.IsPathRooted(location) || location.Contains(':'))
        {
            throw new ExternalDataException($"tensor '{tensorName}' points to external data at absolute location '{location}'; only files inside the model folder are read");
        }
        var full = Path.GetFullPath(Path.Combine(_folder, location));
        if (!RealPath.IsInside(full, _folder))
        {
            throw new ExternalDataException($"tensor '{tensorName}' points to external data '{location}', which is outside the model folder");
        }
        string real;
        try
        {
            real = RealPath.Resolve(Path.Combine(_folder, location));
        }
        catch (IOException e)
        {
            throw new ExternalDataException($"tensor '{tensorName}' points to external data '{location}', whose links cannot be followed: {e.Message}");
        }
        if (!RealPath.IsInside(real, _realFolder.Value))
        {
            throw new ExternalDataException(
                $"tensor '{tensorName}' points to external data '{location}', which leads outside the model folder through a link: external data path escapes the model's folder");
        }
        if (!File.Exists(real))
        {
            throw new ExternalDataException($"tensor '{tensorName}' needs external data file '{location}', which does not exist");
        }
        if (RegularFiles.Problem(real) is { } problem)
        {
            throw new ExternalDataException($"tensor '{tensorName}' needs external data file '{location}', which {problem}");
        }
        return real;
    }

    private static string LocationOf(Proto.TensorProto tensor) =>
        tensor.ExternalData.LastOrDefault(e => e.Key == "location")?.Value is { Length: > 0 } location
            ? location
            : throw new ExternalDataException($"tensor '{tensor.Name}' is external but names no location");

    private static long ParseNonNegative(string text, string key, string tensorName) =>
        long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new ExternalDataException($"tensor '{tensorName}' has an invalid external-data {key} '{text}'");
}
