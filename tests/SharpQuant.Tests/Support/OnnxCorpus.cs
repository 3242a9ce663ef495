using System.Text.RegularExpressions;

namespace SharpQuant.Tests.Support;

/// <summary>One model of the ONNX backend test corpus with its data sets (input_N.pb and output_N.pb, in N order).</summary>
public sealed record OnnxCorpusCase(string Name, string ModelPath, IReadOnlyList<OnnxCorpusDataSet> DataSets)
{
    public override string ToString() => Name;
}

public sealed record OnnxCorpusDataSet(IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs);

/// <summary>Finds the models of the backend test corpus (<see cref="TestData.OnnxTestDataFolder"/>).</summary>
public static partial class OnnxCorpus
{
    /// <summary>Every model.onnx under the corpus folder, named by its folder relative to the corpus ("node/test_abs").</summary>
    public static IReadOnlyList<OnnxCorpusCase> Cases(string root) =>
        Directory.EnumerateFiles(root, "model.onnx", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .Select(path => ForModel(root, path))
            .ToList();

    private static OnnxCorpusCase ForModel(string root, string modelPath)
    {
        var folder = Path.GetDirectoryName(modelPath)!;
        var dataSets = Directory.EnumerateDirectories(folder, "test_data_set_*")
            .Order(StringComparer.Ordinal)
            .Select(d => new OnnxCorpusDataSet(Numbered(d, "input"), Numbered(d, "output")))
            .ToList();
        return new OnnxCorpusCase(Path.GetRelativePath(root, folder), modelPath, dataSets);
    }

    private static List<string> Numbered(string folder, string prefix) =>
        Directory.EnumerateFiles(folder, prefix + "_*.pb")
            .Select(f => (File: f, Match: DataFileName().Match(Path.GetFileName(f))))
            .Where(f => f.Match.Success && f.Match.Groups[1].Value == prefix)
            .OrderBy(f => int.Parse(f.Match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture))
            .Select(f => f.File)
            .ToList();

    [GeneratedRegex(@"^(input|output)_(\d+)\.pb$")]
    private static partial Regex DataFileName();
}
