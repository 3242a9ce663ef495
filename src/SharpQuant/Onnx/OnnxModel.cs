using SharpQuant.IO;
using Proto = global::Onnx;

namespace SharpQuant.Onnx;

/// <summary>Loading and saving ONNX models: the entry point of the library.</summary>
public static class OnnxModel
{
    /// <summary>Reads an ONNX file into the IR. External data is read only from the model's own folder.</summary>
    public static Graph Load(string path)
    {
        Proto.ModelProto proto;
        using (var stream = OpenChecked(path))
        {
            proto = OnnxImporter.Parse(stream, path);
        }
        var folder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        return OnnxImporter.ToGraph(proto, new ExternalDataResolver(folder));
    }

    private static FileStream OpenChecked(string path)
    {
        if (!File.Exists(path))
        {
            throw new InvalidModelException(Directory.Exists(path) ? $"'{path}' is a folder, not an ONNX file" : $"model file '{path}' does not exist");
        }
        // Checked before opening: opening a FIFO would block until something writes to it.
        if (RegularFiles.Problem(path) is { } problem)
        {
            throw new InvalidModelException($"model file '{path}' {problem}");
        }
        return File.OpenRead(path);
    }

    /// <summary>The files <see cref="Load(string)"/> reads for this model: the model file and each of its external-data files.</summary>
    public static IReadOnlyList<string> FilesRead(string path)
    {
        using var stream = OpenChecked(path);
        if (!ModelFiles.MayNameExternalData(stream))
        {
            return [path];
        }
        stream.Seek(0, SeekOrigin.Begin);
        return ModelFiles.Of(path, OnnxImporter.Parse(stream, path));
    }

    /// <summary>Reads a model held in memory; it cannot use external data.</summary>
    public static Graph Load(byte[] bytes, string source = "<memory>")
    {
        using var stream = new MemoryStream(bytes, writable: false);
        return OnnxImporter.ToGraph(OnnxImporter.Parse(stream, source), externalData: null);
    }

    /// <summary>Serializes the graph as an ONNX model.</summary>
    public static byte[] ToBytes(Graph graph) => OnnxExporter.ToBytes(graph);

    /// <summary>Writes the graph as an ONNX file, atomically (a temporary file moved into place).</summary>
    public static void Save(Graph graph, string path)
    {
        graph.Validate();
        AtomicFile.WriteAllBytes(path, ToBytes(graph));
    }
}
