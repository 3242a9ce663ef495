using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Proto = global::Onnx;

namespace SharpQuant.Runtime;

/// <summary>
/// Lets ONNX Runtime hand back tapped values in its internal blocked channel layout (NCHWc) instead of NCHW.
/// With the NCHWc transformer on, every convolution output lives in blocks of 8 or 16 channels, and ORT appends a
/// ReorderOutput to each graph output to restore NCHW. Tapping every activation of ResNet18 runs 32 such reorders
/// (about 117 MB written and read again per batch of 8), which made a tapped run some 10–20 % slower than plain
/// inference. A caller that only needs each tap as a multiset of values (histograms, extremes) can skip them.
///
/// How: ORT optimizes the model once and saves the result (its blocked ops, weights already reordered) to a
/// temporary folder, the weights in a file of their own so that only the small graph is parsed and rewritten here;
/// the ReorderOutput in front of every such tap is dropped and the blocked value renamed to the tap; the session
/// then loads that model with its graph optimizations off, since they have already run. A reorder whose channel
/// count is not a multiple of 16 is kept: its blocked tensor would carry padding channels.
/// </summary>
internal static class BlockedLayoutTaps
{
    public const string NchwcTransformer = "NchwcTransformer";
    private const string NchwcDomain = "com.microsoft.nchwc";

    // The largest channel block ORT uses (AVX-512); a multiple of it is a multiple of every block size.
    private const long WidestBlock = 16;

    /// <summary>Whether a session with these options would run the NCHWc transformer.</summary>
    /// <remarks>
    /// Only on x64, where ORT's blocks are 8 (AVX2) or 16 (AVX-512) channels wide, so that the multiple-of-16 rule
    /// below surely keeps padding channels out.
    /// </remarks>
    public static bool Applies(ExecutorOptions options) =>
        RuntimeInformation.ProcessArchitecture == Architecture.X64
        && options.Provider == ExecutionProvider.Cpu
        && options.OptimizationLevel == GraphOptimizationLevel.ORT_ENABLE_ALL
        && !options.DisabledOptimizers.Contains(NchwcTransformer);

    /// <summary>
    /// The model as ORT optimizes it, with the reorders in front of <paramref name="taps"/> removed; null when there
    /// was none to remove (run the original model then).
    /// </summary>
    public static BlockedModel? Rewrite(byte[] model, ExecutorOptions options, IReadOnlyCollection<string> taps)
    {
        var folder = Directory.CreateTempSubdirectory("sharpquant-ort-");
        try
        {
            var optimizedPath = Path.Combine(folder.FullName, "optimized.onnx");
            using (var sessionOptions = options.CreateSessionOptions())
            {
                sessionOptions.OptimizedModelFilePath = optimizedPath;
                sessionOptions.AddSessionConfigEntry("session.optimized_model_external_initializers_file_name", "weights.bin");
                sessionOptions.AddSessionConfigEntry("session.optimized_model_external_initializers_min_size_in_bytes", "1024");
                using var optimizing = new InferenceSession(model, sessionOptions);
            }
            var optimized = Proto.ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimizedPath));
            // A subgraph (If, Loop, Scan) may read an outer value by name; the renaming below does not look inside.
            var removed = HasSubgraphs(optimized.Graph) ? 0 : RemoveReorders(optimized.Graph, taps);
            if (removed == 0)
            {
                DeleteQuietly(folder);
                return null;
            }
            File.WriteAllBytes(optimizedPath, optimized.ToByteArray());
            return new BlockedModel(folder, optimizedPath, removed);
        }
        catch
        {
            DeleteQuietly(folder);
            throw;
        }
    }

    /// <summary>Deletes a temporary folder; one still locked (a platform that locks mapped files) is left to the system's temp cleaning.</summary>
    internal static void DeleteQuietly(DirectoryInfo folder)
    {
        try
        {
            folder.Delete(recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Nothing to do: the folder only holds a copy.
        }
    }

    private static bool HasSubgraphs(Proto.GraphProto graph) =>
        graph.Node.Any(n => n.Attribute.Any(a => a.G is not null || a.Graphs.Count > 0));

    private static int RemoveReorders(Proto.GraphProto graph, IReadOnlyCollection<string> taps)
    {
        var tapSet = taps.ToHashSet(StringComparer.Ordinal);
        // A reorder whose NCHW result other nodes also read (ops ORT left in NCHW, such as a simulation's quantizer
        // arithmetic) must stay: only the graph output may change layout.
        var read = graph.Node.SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);
        var reorders = graph.Node
            .Where(n => n.OpType == "ReorderOutput" && n.Domain == NchwcDomain && n.Output.Count == 1 && tapSet.Contains(n.Output[0]) && !read.Contains(n.Output[0]))
            .Where(n => n.Attribute.FirstOrDefault(a => a.Name == "channels") is { } channels && channels.I > 0 && channels.I % WidestBlock == 0)
            // A reorder to channels-last gives the tap another shape ([N, H, W, C]); only NCHW ones go.
            .Where(n => n.Attribute.FirstOrDefault(a => a.Name == "channels_last") is not { I: not 0 })
            .ToList();
        foreach (var reorder in reorders)
        {
            var blocked = reorder.Input[0];
            var tap = reorder.Output[0];
            graph.Node.Remove(reorder);
            // The blocked value takes the tap's name, so the graph output now refers to it.
            foreach (var node in graph.Node)
            {
                Rename(node.Input, blocked, tap);
                Rename(node.Output, blocked, tap);
            }
            // Shape records ORT kept for the blocked value would now describe a value that no longer exists.
            foreach (var info in graph.ValueInfo.Where(v => v.Name == blocked).ToList())
            {
                graph.ValueInfo.Remove(info);
            }
        }
        return reorders.Count;
    }

    private static void Rename(Google.Protobuf.Collections.RepeatedField<string> names, string from, string to)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (names[i] == from)
            {
                names[i] = to;
            }
        }
    }
}

/// <summary>
/// A rewritten model in its temporary folder (graph and weight file). The session may map the weight file, so the
/// folder is deleted when the session that loaded it is disposed.
/// </summary>
internal sealed class BlockedModel(DirectoryInfo folder, string path, int removedReorders) : IDisposable
{
    public string Path { get; } = path;

    /// <summary>Taps that now come in the blocked layout.</summary>
    public int RemovedReorders { get; } = removedReorders;

    public void Dispose() => BlockedLayoutTaps.DeleteQuietly(folder);
}
