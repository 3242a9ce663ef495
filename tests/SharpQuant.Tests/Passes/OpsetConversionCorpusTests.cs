using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Runtime;
using SharpQuant.Tests.Support;
using Xunit.Abstractions;
using Proto = global::Onnx;

namespace SharpQuant.Tests.Passes;

/// <summary>
/// The ONNX backend test corpus (libonnx-testdata) at opsets 7 to 12: each model is raised to 13 and run in ONNX
/// Runtime on its recorded inputs, and its outputs are compared with the recorded reference outputs. Models SharpQuant
/// cannot load, or that ONNX Runtime cannot run at their own opset either, are counted apart; a refused conversion
/// is listed with its reason.
/// </summary>
public class OpsetConversionCorpusTests(ITestOutputHelper output)
{
    // The ONNX backend test runner's default tolerances.
    private const double RelativeTolerance = 1e-3;
    private const double AbsoluteTolerance = 1e-7;

    private enum Outcome
    {
        ConvertedAndMatching,
        Refused,
        ConvertedButDifferent,
        ConvertedButNotRunnable,
        NotLoadable,
        OriginalNotRunnable,
        OriginalDiffers,
    }

    private sealed record Case(string Name, long Opset, Outcome Outcome, string Detail);

    /// <summary>Models of the ops whose conversion rewrites them: each must come out converted and matching.</summary>
    private static readonly string[] MustConvert =
    [
        "test_upsample_nearest", "test_resize_downsample_sizes_nearest_tf_half_pixel_for_nn", "test_dropout_default_old",
        "test_dropout_random_old", "test_unsqueeze_axis_3", "test_top_k", "test_top_k_negative_axis", "test_top_k_smallest",
        "test_scatter_with_axis", "test_scatter_without_axis", "test_loop11", "test_scan_sum", "test_scan9_sum",
    ];

    [SkippableFact]
    public void CorpusModelsBelowOpset13RaiseTo13AndMatchTheirReferenceOutputs()
    {
        TestData.RequireOnnxTestData();
        var cases = new List<Case>();
        foreach (var folder in Directory.GetDirectories(Path.Combine(TestData.OnnxTestDataFolder, "node")).Order(StringComparer.Ordinal))
        {
            var modelPath = Path.Combine(folder, "model.onnx");
            var dataSet = Path.Combine(folder, "test_data_set_0");
            if (!File.Exists(modelPath) || !Directory.Exists(dataSet))
            {
                continue;
            }
            var bytes = File.ReadAllBytes(modelPath);
            var proto = Proto.ModelProto.Parser.ParseFrom(bytes);
            var opset = proto.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => o.Version).DefaultIfEmpty(0).Max();
            if (opset is < 7 or >= 13)
            {
                continue;
            }
            cases.Add(Check(Path.GetFileName(folder), opset, bytes, dataSet));
        }

        foreach (var group in cases.GroupBy(c => c.Outcome).OrderBy(g => g.Key))
        {
            output.WriteLine($"{group.Key}: {group.Count()}");
            foreach (var c in group.Where(c => c.Outcome != Outcome.ConvertedAndMatching))
            {
                output.WriteLine($"  {c.Name} (opset {c.Opset}): {c.Detail}");
            }
        }
        Assert.True(cases.Count > 150, $"only {cases.Count} corpus models below opset 13");
        Assert.Empty(cases.Where(c => c.Outcome is Outcome.ConvertedButDifferent or Outcome.ConvertedButNotRunnable)
            .Select(c => $"{c.Name}: {c.Outcome}: {c.Detail}"));
        foreach (var name in MustConvert)
        {
            Assert.Equal(Outcome.ConvertedAndMatching, cases.Single(c => c.Name == name).Outcome);
        }
        // Everything ONNX Runtime runs at its own opset, and SharpQuant loads, converts.
        Assert.Empty(cases.Where(c => c.Outcome == Outcome.Refused).Select(c => $"{c.Name}: {c.Detail}"));
        output.WriteLine($"{cases.Count} corpus models at opsets 7 to 12");
    }

    private static Case Check(string name, long opset, byte[] bytes, string dataSet)
    {
        Graph graph;
        Dictionary<string, Tensor> feeds;
        Tensor[] expected;
        try
        {
            graph = OnnxModel.Load(bytes, name);
            feeds = ReadTensors(dataSet, "input").Zip(graph.Inputs).ToDictionary(p => p.Second.Name, p => p.First);
            expected = ReadTensors(dataSet, "output");
            if (feeds.Count != graph.Inputs.Count || expected.Length != graph.Outputs.Count)
            {
                return new(name, opset, Outcome.NotLoadable, "inputs or outputs that are not plain tensors");
            }
        }
        catch (Exception e) when (e is SharpQuantException or InvalidOperationException or NotSupportedException or ArgumentException or OverflowException)
        {
            return new(name, opset, Outcome.NotLoadable, e.Message);
        }

        var original = TryRun(graph, feeds, out var originalError);
        if (original is null)
        {
            return new(name, opset, Outcome.OriginalNotRunnable, originalError!);
        }
        if (Mismatch(original, expected) is { } originalMismatch)
        {
            return new(name, opset, Outcome.OriginalDiffers, originalMismatch);
        }

        var raised = graph.Clone();
        try
        {
            OpsetUpgrade.RaiseTo(raised, 13);
        }
        catch (SharpQuantException e)
        {
            return new(name, opset, Outcome.Refused, e.Message);
        }
        var actual = TryRun(raised, feeds, out var raisedError);
        if (actual is null)
        {
            return new(name, opset, Outcome.ConvertedButNotRunnable, raisedError!);
        }
        return Mismatch(actual, expected) is { } mismatch
            ? new(name, opset, Outcome.ConvertedButDifferent, mismatch)
            : new(name, opset, Outcome.ConvertedAndMatching, "");
    }

    private static Tensor[] ReadTensors(string dataSet, string prefix)
    {
        var files = Directory.GetFiles(dataSet, $"{prefix}_*.pb")
            .OrderBy(f => int.Parse(Path.GetFileNameWithoutExtension(f)[(prefix.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture))
            .ToArray();
        return files.Select(f => TensorProtoConverter.ToTensor(Proto.TensorProto.Parser.ParseFrom(File.ReadAllBytes(f)), null)).ToArray();
    }

    private static Tensor[]? TryRun(Graph graph, Dictionary<string, Tensor> feeds, out string? error)
    {
        try
        {
            using var executor = new GraphExecutor(graph);
            var result = executor.Run(feeds);
            error = null;
            return result.OutputNames.Select(n => result[n]).ToArray();
        }
        catch (Exception e) when (e is SharpQuantException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException or NotSupportedException or InvalidOperationException)
        {
            error = e.Message.Split('\n')[0];
            return null;
        }
    }

    /// <summary>Why the outputs differ from the reference, or null when they match.</summary>
    private static string? Mismatch(Tensor[] actual, Tensor[] expected)
    {
        for (var k = 0; k < expected.Length; k++)
        {
            var (a, e) = (actual[k], expected[k]);
            if (!a.Shape.SequenceEqual(e.Shape) || a.ElementType != e.ElementType)
            {
                return $"output {k}: {a} where the reference is {e}";
            }
            if (e.ElementType == ElementType.Float)
            {
                var (af, ef) = (a.ToArray<float>(), e.ToArray<float>());
                for (var i = 0; i < ef.Length; i++)
                {
                    var same = float.IsNaN(ef[i]) ? float.IsNaN(af[i]) : Math.Abs(af[i] - ef[i]) <= AbsoluteTolerance + (RelativeTolerance * Math.Abs(ef[i]));
                    if (!same)
                    {
                        return $"output {k} element {i}: {af[i]:R} where the reference is {ef[i]:R}";
                    }
                }
            }
            else if (e.ElementType == ElementType.Double)
            {
                var (ad, ed) = (a.ToArray<double>(), e.ToArray<double>());
                if (Enumerable.Range(0, ed.Length).FirstOrDefault(i => Math.Abs(ad[i] - ed[i]) > AbsoluteTolerance + (RelativeTolerance * Math.Abs(ed[i])), -1) is var i and >= 0)
                {
                    return $"output {k} element {i}: {ad[i]:R} where the reference is {ed[i]:R}";
                }
            }
            else if (!a.Bytes.SequenceEqual(e.Bytes))
            {
                return $"output {k} differs from the reference";
            }
        }
        return null;
    }
}
