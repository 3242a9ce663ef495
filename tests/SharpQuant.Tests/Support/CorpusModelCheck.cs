using Microsoft.ML.OnnxRuntime;
using SharpQuant.Onnx;
using Proto = global::Onnx;

namespace SharpQuant.Tests.Support;

/// <summary>What happened to one corpus model: loaded or refused, what ONNX Runtime made of the original and of the round trip.</summary>
public sealed class CorpusOutcome
{
    public required string Name { get; init; }
    public long Opset { get; set; }

    /// <summary>The one-line reason SharpQuant gave for refusing the model; null when it loaded.</summary>
    public string? Refusal { get; set; }

    /// <summary>A failure of SharpQuant itself: an exception other than SharpQuantException, a multi-line message, a bad round trip.</summary>
    public List<string> Failures { get; } = [];

    public bool Loaded => Refusal is null && Failures.Count == 0;
    public bool OrtRunsOriginal { get; set; }
    public bool OrtRunsRoundTrip { get; set; }

    /// <summary>Set where the round trip's outputs were compared: to the original's (where ORT runs it) or to the reference outputs.</summary>
    public bool? RoundTripMatches { get; set; }
    public bool ComparedToReferenceOnly { get; set; }

    /// <summary>Whether ORT's outputs for the original agree with the corpus's reference outputs (null where not compared).</summary>
    public bool? OriginalMatchesReference { get; set; }
    public string? OrtOriginalError { get; set; }
    public string? HarnessLimit { get; set; }
}

/// <summary>
/// Checks one corpus model: SharpQuant loads it or refuses it with one line; a loaded model is exported, and ONNX
/// Runtime must accept the export wherever it accepts the original, see the same interface (names, kinds, element
/// types, dims) and compute the same outputs, bit for bit, on every data set.
/// </summary>
public static class CorpusModelCheck
{
    // Ops whose outputs are random; their outputs are compared by type and shape only.
    private static readonly HashSet<string> RandomOps = new(StringComparer.Ordinal)
    {
        "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Bernoulli", "Multinomial",
    };

    public static CorpusOutcome Run(OnnxCorpusCase corpusCase)
    {
        var outcome = new CorpusOutcome { Name = corpusCase.Name };
        var original = File.ReadAllBytes(corpusCase.ModelPath);
        var proto = Proto.ModelProto.Parser.ParseFrom(original);
        outcome.Opset = proto.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => o.Version).DefaultIfEmpty(0).Max();

        byte[]? exported = null;
        try
        {
            var graph = OnnxModel.Load(corpusCase.ModelPath);
            exported = OnnxModel.ToBytes(graph);
            var again = OnnxModel.ToBytes(OnnxModel.Load(exported));
            if (!again.AsSpan().SequenceEqual(exported))
            {
                outcome.Failures.Add("exporting the reloaded export gives other bytes");
            }
        }
        catch (SharpQuantException e) when (exported is null)
        {
            if (e.Message.Length == 0 || e.Message.Contains('\n'))
            {
                outcome.Failures.Add($"refused with a message that is not one line: {e.Message}");
            }
            outcome.Refusal = e.Message;
        }
        catch (Exception e)
        {
            outcome.Failures.Add($"{(exported is null ? "load" : "reload")}: {e.GetType().Name}: {FirstLine(e.Message)}");
        }

        var random = proto.Graph.Node.Any(n => RandomOps.Contains(n.OpType));
        var tolerance = random ? Tolerance.TypeAndShape : Tolerance.Exact;
        var originalRun = OrtRun.Try(original, proto, corpusCase.DataSets);
        outcome.OrtRunsOriginal = originalRun.Outputs is not null;
        outcome.OrtOriginalError = originalRun.Error;
        outcome.HarnessLimit = originalRun.HarnessLimit;
        if (originalRun.Outputs is not null && !random)
        {
            outcome.OriginalMatchesReference = Reference.Difference(originalRun.Outputs, corpusCase, proto) is null;
        }
        if (exported is null || outcome.Failures.Count > 0)
        {
            return outcome;
        }

        var roundTrip = OrtRun.Try(exported, proto, corpusCase.DataSets);
        outcome.OrtRunsRoundTrip = roundTrip.Outputs is not null;
        if (originalRun.SessionCreated && !roundTrip.SessionCreated)
        {
            outcome.Failures.Add($"ONNX Runtime accepts the original but refuses the round trip: {roundTrip.Error}");
            return outcome;
        }
        if (originalRun.SessionCreated && roundTrip.SessionCreated && originalRun.Interface != roundTrip.Interface)
        {
            outcome.Failures.Add($"interface changed: {originalRun.Interface} became {roundTrip.Interface}");
        }
        if (originalRun.Outputs is not null)
        {
            if (roundTrip.Outputs is null)
            {
                outcome.Failures.Add($"ONNX Runtime runs the original but not the round trip: {roundTrip.Error}");
                return outcome;
            }
            var difference = Compare(originalRun.Outputs, roundTrip.Outputs, tolerance);
            outcome.RoundTripMatches = difference is null;
            if (difference is not null)
            {
                outcome.Failures.Add($"round trip computes other outputs: {difference}");
            }
        }
        else if (roundTrip.Outputs is not null && !random)
        {
            var difference = Reference.Difference(roundTrip.Outputs, corpusCase, proto);
            outcome.RoundTripMatches = difference is null;
            outcome.ComparedToReferenceOnly = true;
            if (difference is not null)
            {
                outcome.Failures.Add($"round trip (which ORT runs, unlike the original) disagrees with the reference outputs: {difference}");
            }
        }
        return outcome;
    }

    private static string? Compare(IReadOnlyList<Dictionary<string, DataValue>> expected, IReadOnlyList<Dictionary<string, DataValue>> actual, Tolerance tolerance)
    {
        for (var set = 0; set < expected.Count; set++)
        {
            foreach (var (name, value) in expected[set])
            {
                if (!actual[set].TryGetValue(name, out var other))
                {
                    return $"data set {set}: output '{name}' is missing";
                }
                if (OrtData.Difference(value, other, tolerance) is { } d)
                {
                    return $"data set {set}, output '{name}': {d}";
                }
            }
        }
        return null;
    }

    internal static string FirstLine(string message)
    {
        var end = message.IndexOf('\n');
        return end < 0 ? message : message[..end];
    }

    /// <summary>Agreement with the corpus's reference outputs (output_N.pb, matched to graph outputs by name, else by position).</summary>
    private static class Reference
    {
        public static string? Difference(IReadOnlyList<Dictionary<string, DataValue>> outputs, OnnxCorpusCase corpusCase, Proto.ModelProto proto)
        {
            for (var set = 0; set < corpusCase.DataSets.Count; set++)
            {
                var files = corpusCase.DataSets[set].Outputs;
                for (var i = 0; i < files.Count && i < proto.Graph.Output.Count; i++)
                {
                    var declared = proto.Graph.Output[i];
                    DataValue expected;
                    try
                    {
                        expected = DataProtos.Read(File.ReadAllBytes(files[i]), declared.Type);
                    }
                    catch (Exception e) when (e is NotSupportedException or SharpQuantException)
                    {
                        continue;
                    }
                    if (!outputs[set].TryGetValue(declared.Name, out var actual))
                    {
                        return $"data set {set}: no output '{declared.Name}'";
                    }
                    if (OrtData.Difference(expected, actual, Tolerance.Reference) is { } d)
                    {
                        return $"data set {set}, output '{declared.Name}': {d}";
                    }
                }
            }
            return null;
        }
    }
}
