using SharpQuant.IO;
using SharpQuant.Runtime;

namespace SharpQuant.Data;

/// <summary>
/// Model inputs from .npy files, as ONNX Runtime's CalibrationDataReader serves Python users. For a model with one
/// input: every <c>DIR/*.npy</c>. For several inputs: <c>DIR/&lt;input name&gt;/*.npy</c>, the same file names in
/// each folder, a file name being one sample (or batch) of all inputs. A file holds one sample (the input's rank
/// less the batch axis) or a batch (the input's rank); samples are stacked into batches of the asked size. Element
/// types and the fixed dimensions of each input are checked against the model before anything runs.
/// </summary>
public sealed class TensorFiles : IInputSource
{
    private readonly List<string> _samples = [];
    private readonly IReadOnlyList<InputSpec> _inputs;

    private TensorFiles(string folder, IReadOnlyList<InputSpec> inputs, IReadOnlyList<string> names, int batchSize)
    {
        Folder = folder;
        _inputs = inputs;
        FileNames = names;
        BatchSize = Math.Max(1, batchSize);
    }

    public string Folder { get; }

    /// <summary>The sample file names (the same in every input's folder), in ordinal order.</summary>
    public IReadOnlyList<string> FileNames { get; }

    public int BatchSize { get; }

    /// <summary>Opens the tensor files for <paramref name="graph"/>'s inputs, checking every file's header against them.</summary>
    public static TensorFiles Open(string folder, Graph graph, int batchSize)
    {
        if (!Directory.Exists(folder))
        {
            throw new SharpQuantException($"tensor folder '{folder}' does not exist");
        }
        if (graph.Inputs.Count == 0)
        {
            throw new SharpQuantException("the model has no inputs to feed tensor files to");
        }
        var inputs = graph.Inputs.Select(i => new InputSpec(i.Name, i.ElementType, i.Shape,
            graph.Inputs.Count == 1 && !HasFolderFor(folder, i.Name) ? folder : FolderFor(folder, i.Name))).ToList();
        var names = NpyNames(inputs[0].Folder);
        if (names.Count == 0)
        {
            throw new SharpQuantException(graph.Inputs.Count == 1
                ? $"tensor folder '{inputs[0].Folder}' holds no .npy files"
                : $"tensor folder '{inputs[0].Folder}' (input '{inputs[0].Name}') holds no .npy files");
        }
        foreach (var input in inputs.Skip(1))
        {
            var other = NpyNames(input.Folder);
            if (!other.SequenceEqual(names, StringComparer.Ordinal))
            {
                var missing = names.Except(other, StringComparer.Ordinal).Concat(other.Except(names, StringComparer.Ordinal)).First();
                throw new SharpQuantException(
                    $"the tensor folders of '{inputs[0].Name}' and '{input.Name}' hold different file names ('{missing}' is in one only); each sample needs a file of the same name for every input");
            }
        }
        var files = new TensorFiles(folder, inputs, names, batchSize);
        files.CheckHeaders();
        return files;
    }

    /// <summary>Every other file in name order (the calibration or the evaluation half), as image folders split.</summary>
    public TensorFiles Subset(ImageSet set)
    {
        if (set == ImageSet.All)
        {
            return this;
        }
        var offset = set == ImageSet.Calibration ? 0 : 1;
        var names = FileNames.Where((_, i) => i % 2 == offset).ToList();
        if (names.Count == 0)
        {
            throw new SharpQuantException($"the {set.ToString().ToLowerInvariant()} half of '{Folder}' is empty: it needs at least two tensor files");
        }
        return new TensorFiles(Folder, _inputs, names, BatchSize);
    }

    public IEnumerable<InputBatch> Batches()
    {
        _samples.Clear();
        var pending = _inputs.Select(_ => new List<Tensor>()).ToArray();
        var pendingNames = new List<string>();
        foreach (var name in FileNames)
        {
            var tensors = _inputs.Select(i => Read(i, name)).ToArray();
            var count = tensors[0].Shape[0];
            if (tensors.Any(t => t.Shape[0] != count))
            {
                throw new SharpQuantException($"the '{name}' files hold different numbers of samples for the inputs ({string.Join(", ", tensors.Select(t => t.Shape[0]))})");
            }
            for (var n = 0; n < count; n++)
            {
                for (var i = 0; i < tensors.Length; i++)
                {
                    pending[i].Add(count == 1 ? tensors[i] : Sample(tensors[i], n));
                }
                pendingNames.Add(count == 1 ? name : $"{name}[{n}]");
                if (pendingNames.Count == BatchSize)
                {
                    yield return Flush(pending, pendingNames);
                }
            }
        }
        if (pendingNames.Count > 0)
        {
            yield return Flush(pending, pendingNames);
        }
    }

    /// <summary>Batches per pass, counting each file as one sample (a file holding a batch counts as one).</summary>
    public int ExpectedBatches => (FileNames.Count + BatchSize - 1) / BatchSize;

    public IReadOnlyList<string> Samples => _samples;

    public IReadOnlyList<SkippedImage> Skipped => [];

    public string Describe() =>
        $"{_samples.Count} samples from {FileNames.Count} tensor file{(FileNames.Count == 1 ? "" : "s")}{(_inputs.Count > 1 ? $" per input ({_inputs.Count} inputs)" : "")} in '{Folder}'";

    private InputBatch Flush(List<Tensor>[] pending, List<string> names)
    {
        var batch = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (var i = 0; i < _inputs.Count; i++)
        {
            batch[_inputs[i].Name] = Stack(pending[i]);
            pending[i].Clear();
        }
        _samples.AddRange(names);
        names.Clear();
        return new InputBatch(batch);
    }

    private void CheckHeaders()
    {
        // Only the headers are read here (type, shape, file length), so a wrong file fails before calibration starts
        // without reading the data twice.
        foreach (var name in FileNames)
        {
            foreach (var input in _inputs)
            {
                var path = Path.Combine(input.Folder, name);
                var header = NpyFile.ReadHeader(path);
                Check(input, path, header.Type, header.Shape);
            }
        }
    }

    // A file as a batch: one sample gets a batch axis of 1.
    private static Tensor Read(InputSpec input, string name)
    {
        var path = Path.Combine(input.Folder, name);
        var tensor = NpyFile.Read(path);
        Check(input, path, tensor.ElementType, tensor.Shape);
        return input.Shape?.Count == tensor.Rank + 1 ? tensor.Reshape([1, .. tensor.Shape]) : tensor;
    }

    /// <summary>A file's type and shape against the input: the input's type, and its rank (one sample) or rank (a batch) with its fixed dims.</summary>
    private static void Check(InputSpec input, string path, ElementType type, IReadOnlyList<long> fileShape)
    {
        if (input.Type != ElementType.Undefined && type != input.Type)
        {
            throw new SharpQuantException($"'{path}' holds {type.DisplayName()}, but input '{input.Name}' takes {input.Type.DisplayName()}");
        }
        if (input.Shape is not { } shape)
        {
            return;
        }
        if (fileShape.Count != shape.Count - 1 && fileShape.Count != shape.Count)
        {
            throw new SharpQuantException(
                $"'{path}' has shape {Shapes.Format(fileShape)}, but input '{input.Name}' takes {Shapes.Format(shape)}: give one sample (rank {shape.Count - 1}) or a batch (rank {shape.Count}) per file");
        }
        // A one-sample file lines up with the input's dims after the batch axis.
        var offset = shape.Count - fileShape.Count;
        for (var d = 1; d < shape.Count; d++)
        {
            if (shape[d].Size is { } size && size != fileShape[d - offset])
            {
                throw new SharpQuantException(
                    $"'{path}' has shape {Shapes.Format(fileShape)}, but input '{input.Name}' takes {Shapes.Format(shape)} (dimension {d} differs)");
            }
        }
    }

    private static Tensor Sample(Tensor batch, int n)
    {
        var per = batch.ByteCount / batch.Shape[0];
        var bytes = batch.Bytes.Slice((int)(n * per), (int)per).ToArray();
        return new Tensor(batch.ElementType, [1, .. batch.Shape.Skip(1)], bytes);
    }

    private static Tensor Stack(IReadOnlyList<Tensor> samples)
    {
        if (samples.Count == 1)
        {
            return samples[0];
        }
        var first = samples[0];
        foreach (var s in samples)
        {
            if (!s.Shape.Skip(1).SequenceEqual(first.Shape.Skip(1)))
            {
                throw new SharpQuantException(
                    $"tensor files of one batch differ in shape ({Shapes.Format(first.Shape)} and {Shapes.Format(s.Shape)}); give files of one shape, or --batch 1");
            }
        }
        var per = first.ByteCount;
        var bytes = new byte[per * samples.Count];
        for (var i = 0; i < samples.Count; i++)
        {
            samples[i].Bytes.CopyTo(bytes.AsSpan((int)(i * per)));
        }
        return new Tensor(first.ElementType, [samples.Count, .. first.Shape.Skip(1)], bytes);
    }

    private static IReadOnlyList<string> NpyNames(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new SharpQuantException($"tensor folder '{folder}' does not exist");
        }
        return Directory.EnumerateFiles(folder, "*.npy").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList();
    }

    private static bool HasFolderFor(string folder, string input) => Directory.Exists(Path.Combine(folder, SafeName(input)));

    private static string FolderFor(string folder, string input)
    {
        var path = Path.Combine(folder, SafeName(input));
        if (!Directory.Exists(path))
        {
            throw new SharpQuantException(
                $"tensor folder '{folder}' has no folder '{SafeName(input)}' for input '{input}': a model with several inputs takes DIR/<input name>/*.npy");
        }
        return path;
    }

    /// <summary>An input name as a folder name: characters a path cannot hold (/, \, :) become '_'.</summary>
    public static string SafeName(string input) =>
        new(input.Select(c => c is '/' or '\\' or ':' || char.IsControl(c) || Path.GetInvalidFileNameChars().Contains(c) ? '_' : c).ToArray());

    private sealed record InputSpec(string Name, ElementType Type, IReadOnlyList<Dim>? Shape, string Folder);
}
