using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using SharpQuant.Tests.Support;
using Xunit.Abstractions;

namespace SharpQuant.Tests.Onnx;

/// <summary>
/// The ONNX backend test corpus (Debian package libonnx-testdata, about 1,070 models with inputs and reference
/// outputs) as a test of the importer and exporter: every model loads or is refused with one clear line, and every
/// model that loads comes back from a load → save round trip with the same interface and, in ONNX Runtime, the same
/// outputs as the original.
/// </summary>
public partial class OnnxCorpusTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void EveryCorpusModelLoadsOrIsRefusedAndSurvivesARoundTrip()
    {
        TestData.RequireOnnxTestData();
        var cases = OnnxCorpus.Cases(TestData.OnnxTestDataFolder);
        var clock = Stopwatch.StartNew();
        var outcomes = new ConcurrentBag<CorpusOutcome>();
        Parallel.ForEach(cases, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, c => outcomes.Add(CorpusModelCheck.Run(c)));
        var all = outcomes.OrderBy(o => o.Name, StringComparer.Ordinal).ToList();
        Report(all, clock.Elapsed);

        var failures = all.Where(o => o.Failures.Count > 0).ToList();
        Assert.True(failures.Count == 0, $"{failures.Count} models failed: " + string.Join("; ", failures.Take(5).Select(f => $"{f.Name}: {f.Failures[0]}")));
        Assert.True(cases.Count >= 1000, $"the corpus should hold about 1,070 models, found {cases.Count}");

        // A model ONNX Runtime runs is a valid model: SharpQuant must read it.
        var refusedValid = all.Where(o => o.OrtRunsOriginal && o.Refusal is not null).ToList();
        Assert.True(refusedValid.Count == 0, $"{refusedValid.Count} models that ONNX Runtime runs are refused, e.g. {refusedValid.FirstOrDefault()?.Name}: {refusedValid.FirstOrDefault()?.Refusal}");

        // Old opsets are read; the few old forms SharpQuant refuses are refused for a named node and op.
        var oldRefusals = all.Where(o => o.Opset is > 0 and < 7 && o.Refusal is not null && !NamesNodeAndOp().IsMatch(o.Refusal)).ToList();
        Assert.True(oldRefusals.Count == 0, $"a model at an opset below 7 is refused without naming the node and op: {oldRefusals.FirstOrDefault()?.Name}: {oldRefusals.FirstOrDefault()?.Refusal}");

        // Every round trip that could be compared was compared: those of the models ONNX Runtime runs (about 1,000 with ORT 1.31).
        var comparable = all.Where(o => o.Loaded && o.OrtRunsOriginal && o.HarnessLimit is null).ToList();
        Assert.All(comparable, o => Assert.True(o.RoundTripMatches, o.Name));
        Assert.True(comparable.Count >= 950, $"only {comparable.Count} round trips were compared in ONNX Runtime");
    }

    private void Report(List<CorpusOutcome> all, TimeSpan elapsed)
    {
        var loaded = all.Where(o => o.Loaded).ToList();
        var refused = all.Where(o => o.Refusal is not null).ToList();
        var failed = all.Where(o => o.Failures.Count > 0).ToList();
        output.WriteLine($"corpus: {all.Count} models in {elapsed.TotalSeconds:F1} s");
        output.WriteLine($"loaded: {loaded.Count}; refused: {refused.Count}; failed: {failed.Count}");
        output.WriteLine($"ONNX Runtime runs the original: {all.Count(o => o.OrtRunsOriginal)} (of them loaded: {loaded.Count(o => o.OrtRunsOriginal)}); original agrees with the reference outputs: {all.Count(o => o.OriginalMatchesReference == true)}");
        output.WriteLine($"round trip: ORT runs {loaded.Count(o => o.OrtRunsRoundTrip)}; outputs compared {loaded.Count(o => o.RoundTripMatches is not null)}, match {loaded.Count(o => o.RoundTripMatches == true)} (to the reference only: {loaded.Count(o => o.ComparedToReferenceOnly && o.RoundTripMatches == true)})");
        foreach (var group in all.Where(o => o.Opset < 7).GroupBy(o => o.Opset).OrderBy(g => g.Key))
        {
            var label = group.Key == 0 ? "no default-domain opset (other domains only)" : $"opset {group.Key}";
            output.WriteLine($"{label}: {group.Count()} models, loaded {group.Count(o => o.Loaded)}, refused {group.Count(o => o.Refusal is not null)}, ORT runs {group.Count(o => o.OrtRunsOriginal)} (round trips matching: {group.Count(o => o.RoundTripMatches == true)})");
        }
        output.WriteLine("refused, by reason:");
        foreach (var group in refused.GroupBy(o => ReasonKey(o.Refusal!)).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"  {group.Count(),4}  {group.Key}   (e.g. {group.First().Name}: {group.First().Refusal})");
        }
        output.WriteLine("ORT refuses the original, by reason:");
        foreach (var group in all.Where(o => o.OrtOriginalError is not null).GroupBy(o => ReasonKey(o.OrtOriginalError!)).OrderByDescending(g => g.Count()).Take(15))
        {
            output.WriteLine($"  {group.Count(),4}  {group.Key}   (e.g. {group.First().Name})");
        }
        foreach (var group in all.Where(o => o.HarnessLimit is not null).GroupBy(o => o.HarnessLimit!))
        {
            output.WriteLine($"not run by this test ({group.Key}): {group.Count()} (e.g. {group.First().Name})");
        }
        foreach (var f in failed)
        {
            output.WriteLine($"FAILED {f.Name}: {string.Join(" | ", f.Failures)}");
        }
    }

    /// <summary>A refusal reason with the names and numbers of the model taken out, so that like reasons group.</summary>
    private static string ReasonKey(string message)
    {
        var key = QuotedName().Replace(message, "'…'");
        key = Number().Replace(key, "N");
        return key.Length > 140 ? key[..140] + "…" : key;
    }

    [GeneratedRegex(@"^node '[^']+' \(\w+\) ")]
    private static partial Regex NamesNodeAndOp();

    [GeneratedRegex("'[^']*'")]
    private static partial Regex QuotedName();

    [GeneratedRegex(@"\d+")]
    private static partial Regex Number();
}
