using SharpQuant.Analysis;
using SharpQuant.Autodiff;
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
    public const string WeightSensitivitySuffix = ".weight-sensitivity";
    public const string ActivationSensitivitySuffix = ".activation-sensitivity";

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

    /// <summary>
    /// Sensitivity analysis in one call, for a calibrated simulation: backpropagates the model output
    /// (<paramref name="seed"/>) over <paramref name="batches"/> and draws every selected weight and activation
    /// histogram with its gradient overlay (<see cref="SensitivityAnalysis.Run"/>). Returns the paths, weights first.
    /// </summary>
    public static IReadOnlyList<string> WriteSensitivityHistograms(
        QuantSim sim,
        IEnumerable<Tensor> batches,
        string folder,
        SeedKind seed = SeedKind.Sum,
        Func<Quantizer, bool>? select = null,
        string? dataDescription = null) =>
        WriteSensitivityHistograms(SensitivityAnalysis.Run(sim, batches, seed, select), folder, dataDescription);

    /// <summary>Draws sensitivity histograms already computed: weights first, then activations, in graph order.</summary>
    public static IReadOnlyList<string> WriteSensitivityHistograms(SensitivityHistograms sensitivity, string folder, string? dataDescription = null)
    {
        var items = sensitivity.Weights.Select(h => (Histogram: h, Weight: true))
            .Concat(sensitivity.Activations.Select(h => (Histogram: h, Weight: false))).ToList();
        return Draw(folder, items, item =>
        {
            var path = Path.Combine(folder, SensitivityFileName(item.Histogram, item.Weight));
            QuantGridHistogramFigure.Save(item.Histogram.Histogram, SensitivityLabels(sensitivity, item.Histogram, item.Weight, dataDescription), path);
            return path;
        });
    }

    /// <summary>The file name of a sensitivity figure (<c>stage1.block0.conv1.weight-sensitivity.png</c>).</summary>
    public static string SensitivityFileName(QuantizerHistogram histogram, bool weight) =>
        FigureFileNames.For(histogram.Target, weight ? WeightSensitivitySuffix : ActivationSensitivitySuffix);

    /// <summary>Title and legend of a sensitivity figure: what is binned, on which grid, and which gradient the green bars sum.</summary>
    public static QuantGridHistogramFigure.Labels SensitivityLabels(SensitivityHistograms sensitivity, QuantizerHistogram h, bool weight, string? dataDescription = null)
    {
        var samples = $"{sensitivity.Samples} sample{(sensitivity.Samples == 1 ? "" : "s")}";
        var data = dataDescription ?? samples;
        var what = weight ? "weight" : "activation";
        return new QuantGridHistogramFigure.Labels(
            $"{h.Target} — {what} histogram and sensitivity on the {h.Quantizer.Spec.Describe()} grid, {data}",
            weight ? "weights" : "activations",
            $"|Σ d({(sensitivity.Seed == SeedKind.Sum ? "sum of outputs" : "top-1 output")})/dx| per bin, x = the quantizer's float input " +
            $"(straight-through; clamped values give 0){(weight ? $", gradients summed over {samples}" : "")}");
    }

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
