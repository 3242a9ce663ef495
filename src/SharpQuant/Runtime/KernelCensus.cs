using Microsoft.ML.OnnxRuntime;
using Proto = global::Onnx;

namespace SharpQuant.Runtime;

/// <summary>
/// The ops of a model as ONNX Runtime runs it after its graph optimizations (the model it writes to
/// <c>OptimizedModelFilePath</c>), sorted into those that compute on 8-bit integers and those that compute in float.
/// An op computes on integers when it is one of ORT's integer kernels (QLinear*, QGemm, …) or when its first input is
/// an 8-bit tensor (MaxPool, Reshape, Transpose… left between a dropped DequantizeLinear/QuantizeLinear pair);
/// QuantizeLinear and DequantizeLinear left in the graph are counted apart: each one is a conversion the QDQ fusions
/// did not absorb.
/// </summary>
public sealed record KernelCensus(IReadOnlyDictionary<string, int> IntegerOps, IReadOnlyDictionary<string, int> FloatOps, int QuantizeLinear, int DequantizeLinear)
{
    /// <summary>Op types that read 8-bit inputs and are integer kernels whatever their inputs are named.</summary>
    private static readonly HashSet<string> IntegerKernels = ["QGemm", "MatMulInteger", "ConvInteger", "MatMulIntegerToFloat", "DynamicQuantizeMatMul"];

    public int IntegerCount => IntegerOps.Values.Sum();
    public int FloatCount => FloatOps.Values.Sum();

    public int Integer(string opType) => IntegerOps.GetValueOrDefault(opType);
    public int Float(string opType) => FloatOps.GetValueOrDefault(opType);

    /// <summary>Optimizes the model as a session with <paramref name="options"/> would and counts its ops.</summary>
    public static KernelCensus Of(byte[] model, ExecutorOptions? options = null)
    {
        var folder = Directory.CreateTempSubdirectory("sharpquant-census-");
        try
        {
            var optimizedPath = Path.Combine(folder.FullName, "optimized.onnx");
            using (var sessionOptions = (options ?? ExecutorOptions.Default).CreateSessionOptions())
            {
                sessionOptions.OptimizedModelFilePath = optimizedPath;
                sessionOptions.AddSessionConfigEntry("session.optimized_model_external_initializers_file_name", "weights.bin");
                sessionOptions.AddSessionConfigEntry("session.optimized_model_external_initializers_min_size_in_bytes", "1024");
                using var session = new InferenceSession(model, sessionOptions);
            }
            return Count(Proto.ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimizedPath)).Graph);
        }
        finally
        {
            BlockedLayoutTaps.DeleteQuietly(folder);
        }
    }

    private static KernelCensus Count(Proto.GraphProto graph)
    {
        var integerValues = new HashSet<string>(StringComparer.Ordinal);
        var integerOps = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var floatOps = new SortedDictionary<string, int>(StringComparer.Ordinal);
        int quantize = 0, dequantize = 0;
        // ORT writes the optimized graph in topological order, so a producer is classified before its readers.
        foreach (var node in graph.Node)
        {
            var op = node.OpType;
            bool integer;
            if (op == "QuantizeLinear")
            {
                quantize++;
                integer = true;
            }
            else if (op == "DequantizeLinear")
            {
                dequantize++;
                continue;
            }
            else
            {
                integer = op.StartsWith("QLinear", StringComparison.Ordinal) || IntegerKernels.Contains(op)
                    || node.Input.Count > 0 && integerValues.Contains(node.Input[0]);
                var counts = integer ? integerOps : floatOps;
                counts[op] = counts.GetValueOrDefault(op) + 1;
            }
            if (integer && !(op is "QGemm" && node.Input.Count < 7) && op != "MatMulIntegerToFloat")
            {
                // QGemm without an output scale and MatMulIntegerToFloat return floats.
                foreach (var output in node.Output)
                {
                    integerValues.Add(output);
                }
            }
        }
        return new KernelCensus(integerOps, floatOps, quantize, dequantize);
    }

    /// <summary>"QLinearConv×22 QLinearAdd×9", most frequent first.</summary>
    public static string Format(IReadOnlyDictionary<string, int> ops) =>
        ops.Count == 0 ? "none" : string.Join(" ", ops.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}×{p.Value}"));

    public override string ToString() =>
        $"int8 {IntegerCount} ({Format(IntegerOps)}); float {FloatCount} ({Format(FloatOps)}); QuantizeLinear {QuantizeLinear}, DequantizeLinear {DequantizeLinear}";
}
