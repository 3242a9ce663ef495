using SharpQuant.IO;
using Proto = global::Onnx;

namespace SharpQuant.Onnx;

/// <summary>
/// Reads tensors stored in files beside the model. Only files inside the model's folder are read: an absolute
/// location, one that climbs out with "..", or a link that leads outside is refused, because a model file must
/// not be able to make us read arbitrary files.
/// </summary>
internal sealed class ExternalDataResolver
{
    private readonly string _folder;

    public ExternalDataResolver(string modelFolder)
    {
        _folder = Path.GetFullPath(modelFolder);
    }

    public byte[] Read(Proto.TensorProto tensor, long expectedBytes)
    {
        var entries = tensor.ExternalData.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
        if (!entries.TryGetValue("location", out var location) || location.Length == 0)
        {
            throw new ExternalDataException($"tensor '{tensor.Name}' is external but names no location");
        }
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

    private string ResolveInsideFolder(string location, string tensorName)
    {
        if (Path.IsPathRooted(location) || location.Contains(':'))
        {
            throw new ExternalDataException($"tensor '{tensorName}' points to external data at absolute location '{location}'; only files inside the model folder are read");
        }
        var full = Path.GetFullPath(Path.Combine(_folder, location));
        if (!IsInside(full))
        {
            throw new ExternalDataException($"tensor '{tensorName}' points to external data '{location}', which is outside the model folder");
        }
        if (!File.Exists(full))
        {
            throw new ExternalDataException($"tensor '{tensorName}' needs external data file '{location}', which does not exist");
        }
        if (RegularFiles.Problem(full) is { } problem)
        {
            throw new ExternalDataException($"tensor '{tensorName}' needs external data file '{location}', which {problem}");
        }
        var target = new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true);
        if (target is not null && !IsInside(Path.GetFullPath(target.FullName)))
        {
            throw new ExternalDataException($"tensor '{tensorName}' points to external data '{location}', a link that leads outside the model folder");
        }
        return full;
    }

    private bool IsInside(string fullPath) =>
        fullPath.StartsWith(_folder.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    private static long ParseNonNegative(string text, string key, string tensorName) =>
        long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new ExternalDataException($"tensor '{tensorName}' has an invalid external-data {key} '{text}'");
}
