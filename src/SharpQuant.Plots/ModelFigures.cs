using SharpQuant.Analysis;
using SharpQuant.Quantization;

namespace SharpQuant.Plots;

/// <summary>
/// Figures for many layers at once, written to a folder with file names from module names
/// (<c>stage2.block0.conv1.weight-hist.png</c>). Each figure is independent, so they are drawn in parallel.
/// Every method returns the paths written, in layer order.
/// </summary>
public static class ModelFigures
{
    public const string BoxplotSuffix = ".boxplot";
    public const string BoxplotComparisonSuffix = ".boxplot-compare";
    public const string WeightHistogramSuffix = ".weight-hist";
    public const string ActivationHistogramSuffix = ".activation-hist";

    /// <summary>Per-output-channel boxplots of every layer <paramref name="select"/> keeps; <paramref name="label"/> names the model in the titles.</summary>
    public static IReadOnlyList<string> WriteBoxplots(Graph graph, string folder, string label, Func<Node, bool>? select = null)
    {
        var layers = ChannelBoxStats.WeightedLayers(graph).Where(n => select?.Invoke(n) ?? true).ToList();
        return Draw(folder, layers, layer =>
        {
            var path = Path.Combine(folder, FigureFileNames.For(layer.ModuleName, BoxplotSuffix));
            ChannelBoxplotFigure.Save(BoxplotTitle(layer.ModuleName, label), ChannelBoxStats.OfLayer(layer), path);
            return path;
        });
    }

    /// <summary>
    /// Two panels per layer on the same value scale: the layer in <paramref name="first"/> above the layer of the same
    /// module name in <paramref name="second"/>. Layers that only one model has are skipped.
    /// </summary>
    public static IReadOnlyList<string> WriteBoxplotComparisons(Graph first, string firstLabel, Graph second, string secondLabel, string folder, Func<Node, bool>? select = null)
    {
        var others = ChannelBoxStats.WeightedLayers(second).GroupBy(n => n.ModuleName).ToDictionary(g => g.Key, g => g.First());
        var pairs = ChannelBoxStats.WeightedLayers(first)
            .Where(n => (select?.Invoke(n) ?? true) && others.ContainsKey(n.ModuleName))
            .Select(n => (First: n, Second: others[n.ModuleName]))
            .ToList();
        return Draw(folder, pairs, pair =>
        {
            var path = Path.Combine(folder, FigureFileNames.For(pair.First.ModuleName, BoxplotComparisonSuffix));
            ChannelBoxplotFigure.SaveComparison(
                BoxplotTitle(pair.First.ModuleName, firstLabel), ChannelBoxStats.OfLayer(pair.First),
                BoxplotTitle(pair.Second.ModuleName, secondLabel), ChannelBoxStats.OfLayer(pair.Second),
                path);
            return path;
        });
    }

    public static string BoxplotTitle(string module, string label) => $"{module} — per-output-channel weight boxplots ({label})";

    /// <summary>Computes and draws the weight histogram of every weight quantizer <paramref name="select"/> keeps.</summary>
    public static IReadOnlyList<string> WriteWeightHistograms(QuantSim sim, string folder, Func<Quantizer, bool>? select = null)
    {
        var quantizers = sim.Quantizers.Where(q => q.Kind == QuantizerKind.Weight && (select?.Invoke(q) ?? true)).ToList();
        // Computing inside the drawing loop keeps one histogram per worker alive, not all of them.
        return Draw(folder, quantizers, q => WriteWeightHistogram(new QuantizerHistogram(q, WeightHistograms.Of(q)), folder));
    }

    /// <summary>Draws weight histograms already computed (with gradients, for the sensitivity overlay).</summary>
    public static IReadOnlyList<string> WriteWeightHistograms(IReadOnlyList<QuantizerHistogram> histograms, string folder) =>
        Draw(folder, histograms, h => WriteWeightHistogram(h, folder));

    public static IReadOnlyList<string> WriteActivationHistograms(IReadOnlyList<QuantizerHistogram> histograms, string folder, string? dataDescription = null) =>
        Draw(folder, histograms, h =>
        {
            var path = Path.Combine(folder, FigureFileNames.For(h.Target, ActivationHistogramSuffix));
            var from = dataDescription is null ? "" : $", {dataDescription}";
            QuantGridHistogramFigure.Save(h.Histogram, new QuantGridHistogramFigure.Labels(
                $"{h.Target} — activation histogram on the {h.Quantizer.Spec.Describe()} grid{from}", "activations"), path);
            return path;
        });

    private static string WriteWeightHistogram(QuantizerHistogram h, string folder)
    {
        var path = Path.Combine(folder, FigureFileNames.For(h.Target, WeightHistogramSuffix));
        QuantGridHistogramFigure.Save(h.Histogram, new QuantGridHistogramFigure.Labels(
            $"{h.Target} — weight histogram on the {h.Quantizer.Spec.Describe()} grid", "weights"), path);
        return path;
    }

    private static IReadOnlyList<string> Draw<T>(string folder, IReadOnlyList<T> items, Func<T, string> draw)
    {
        Directory.CreateDirectory(folder);
        var paths = new string[items.Count];
        Parallel.For(0, items.Count, i => paths[i] = draw(items[i]));
        return paths;
    }
}
