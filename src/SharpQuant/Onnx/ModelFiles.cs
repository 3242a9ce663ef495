using Proto = global::Onnx;

namespace SharpQuant.Onnx;

/// <summary>
/// The files loading a model reads: the model itself and every external-data file its tensors name (initializers
/// and the tensors of node attributes, as <see cref="OnnxImporter"/> reads them), each checked as a load checks it.
/// A command lists them before it writes, so its output cannot replace one of them.
/// </summary>
internal static class ModelFiles
{
    // The key every external tensor's entries hold; a file without these bytes names no external data.
    private static readonly byte[] LocationKey = "location"u8.ToArray();

    /// <summary>
    /// Whether the file holds the bytes of the "location" key at all: a scan costs a fraction of a parse of a large
    /// model (which holds its weights and names no external file), so only a model that may name one is parsed.
    /// </summary>
    public static bool MayNameExternalData(Stream stream)
    {
        var buffer = new byte[1 << 20];
        var kept = 0;
        int read;
        while ((read = stream.Read(buffer, kept, buffer.Length - kept)) > 0)
        {
            var filled = kept + read;
            if (buffer.AsSpan(0, filled).IndexOf(LocationKey) >= 0)
            {
                return true;
            }
            // The last bytes stay, in case the key straddles two reads.
            kept = Math.Min(LocationKey.Length - 1, filled);
            buffer.AsSpan(filled - kept, kept).CopyTo(buffer);
        }
        return false;
    }

    public static IReadOnlyList<string> Of(string path, Proto.ModelProto model)
    {
        var resolver = new ExternalDataResolver(Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".");
        var files = new List<string> { path };
        var tensors = model.Graph.Initializer
            .Concat(model.Graph.Node.SelectMany(n => n.Attribute).SelectMany(a => a.Tensors.Prepend(a.T)))
            .Where(t => t is not null && t.DataLocation == Proto.TensorProto.Types.DataLocation.External);
        foreach (var tensor in tensors)
        {
            var file = resolver.PathOf(tensor);
            if (!files.Contains(file, StringComparer.Ordinal))
            {
                files.Add(file);
            }
        }
        return files;
    }
}
