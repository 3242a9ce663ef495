using Microsoft.ML.OnnxRuntime;
using Proto = global::Onnx;

namespace SharpQuant.Tests.Support;

/// <summary>
/// What ONNX Runtime made of a model: whether it created a session, the interface it saw, and the outputs of every
/// data set (null where it could not run one).
/// </summary>
public sealed record OrtRunResult(
    bool SessionCreated,
    string Interface,
    IReadOnlyList<Dictionary<string, DataValue>>? Outputs,
    string? Error,
    string? HarnessLimit);

/// <summary>Runs a corpus model in ONNX Runtime on its data sets, one thread per session (the test runs models in parallel).</summary>
public static class OrtRun
{
    public static OrtRunResult Try(byte[] model, Proto.ModelProto declared, IReadOnlyList<OnnxCorpusDataSet> dataSets)
    {
        using var options = new SessionOptions
        {
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL,
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
        };
        InferenceSession session;
        try
        {
            session = new InferenceSession(model, options);
        }
        catch (OnnxRuntimeException e)
        {
            return new OrtRunResult(false, "", null, CorpusModelCheck.FirstLine(e.Message), null);
        }
        using (session)
        {
            var shape = Interface(session);
            var outputs = new List<Dictionary<string, DataValue>>();
            foreach (var dataSet in dataSets)
            {
                try
                {
                    outputs.Add(RunOne(session, declared, dataSet));
                }
                catch (OnnxRuntimeException e)
                {
                    return new OrtRunResult(true, shape, null, CorpusModelCheck.FirstLine(e.Message), null);
                }
                catch (Exception e) when (e is NotSupportedException or SharpQuantException)
                {
                    // Data the harness cannot read or feed (4-bit tensors, empty sequences): not run, and counted as such.
                    return new OrtRunResult(true, shape, null, null, e.Message);
                }
            }
            return new OrtRunResult(true, shape, outputs, null, null);
        }
    }

    private static Dictionary<string, DataValue> RunOne(InferenceSession session, Proto.ModelProto declared, OnnxCorpusDataSet dataSet)
    {
        var names = new List<string>();
        var values = new List<OrtValue>();
        try
        {
            for (var i = 0; i < dataSet.Inputs.Count; i++)
            {
                var bytes = File.ReadAllBytes(dataSet.Inputs[i]);
                // The file names its input where it can; otherwise the backend runner's rule applies: by position among
                // the inputs that have no initializer.
                var positional = i < session.InputNames.Count ? session.InputNames[i] : null;
                var fileName = DataProtos.NameOf(bytes, DeclaredType(declared, positional));
                var name = session.InputMetadata.ContainsKey(fileName) ? fileName
                    : positional ?? throw new NotSupportedException($"data file {Path.GetFileName(dataSet.Inputs[i])} matches no input");
                var value = DataProtos.Read(bytes, DeclaredType(declared, name));
                if (OrtData.ToOrtValue(value) is { } ortValue)
                {
                    names.Add(name);
                    values.Add(ortValue);
                }
            }
            var outputNames = session.OutputNames.Distinct().ToList();
            using var results = session.Run(new RunOptions(), names, values, outputNames);
            var outputs = new Dictionary<string, DataValue>(StringComparer.Ordinal);
            for (var i = 0; i < outputNames.Count; i++)
            {
                outputs[outputNames[i]] = OrtData.FromOrtValue(results[i]);
            }
            return outputs;
        }
        finally
        {
            foreach (var v in values)
            {
                v.Dispose();
            }
        }
    }

    private static Proto.TypeProto? DeclaredType(Proto.ModelProto model, string? input) =>
        model.Graph.Input.FirstOrDefault(d => d.Name == input)?.Type;

    /// <summary>Inputs, overridable initializers and outputs as ORT sees them: name, kind, element type, dims.</summary>
    private static string Interface(InferenceSession session) =>
        "in " + Describe(session.InputNames, session.InputMetadata)
        + "; defaults " + Describe(session.OverridableInitializerMetadata.Keys.Order(StringComparer.Ordinal).ToList(), session.OverridableInitializerMetadata)
        + "; out " + Describe(session.OutputNames, session.OutputMetadata);

    private static string Describe(IReadOnlyList<string> names, IReadOnlyDictionary<string, NodeMetadata> metadata) =>
        string.Join(", ", names.Select(n => n + ":" + Describe(metadata[n])));

    private static string Describe(NodeMetadata m) => m.OnnxValueType switch
    {
        OnnxValueType.ONNX_TYPE_TENSOR or OnnxValueType.ONNX_TYPE_SPARSETENSOR =>
            $"{m.ElementDataType}[{string.Join(",", m.Dimensions.Select((d, i) => d >= 0 ? d.ToString(System.Globalization.CultureInfo.InvariantCulture) : m.SymbolicDimensions[i]))}]",
        OnnxValueType.ONNX_TYPE_SEQUENCE => "seq(" + Describe(m.AsSequenceMetadata().ElementMeta) + ")",
        OnnxValueType.ONNX_TYPE_OPTIONAL => "optional(" + Describe(m.AsOptionalMetadata().ElementMeta) + ")",
        _ => m.OnnxValueType.ToString(),
    };
}
