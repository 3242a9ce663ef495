using SharpQuant.Passes;

namespace SharpQuant.Plots.Report;

/// <summary>One model's per-output-channel weight ranges of a layer, as a line in <see cref="WeightRangeChart"/>.</summary>
public sealed record ChannelRanges(string Label, IReadOnlyList<double> Ranges)
{
    /// <summary>The per-output-channel max |w| of the layer <paramref name="moduleName"/> of <paramref name="graph"/>.</summary>
    public static ChannelRanges Of(Graph graph, string moduleName, string label)
    {
        var node = graph.FindNode(moduleName) ?? throw new SharpQuantException($"the model has no layer '{moduleName}'");
        return new ChannelRanges(label, LinearLayer.Create(node).OutputRanges(RangeMode.MaxAbs));
    }

    public double Spread => EqualizeCrossLayer.Spread(Ranges);
}

/// <summary>
/// A chart of one layer's per-output-channel weight range (max |w|) in one or more models, over the channel index,
/// each relative to the layer's largest channel: the share of a per-tensor quantization grid the channel would use.
/// Relative, because equalization also moves the overall magnitude (a layer's weights may grow several-fold), which
/// on absolute axes hides the spread it evens out. Kept small on purpose: the per-channel boxplots and
/// quantization-grid histograms are the plotting project's.
/// </summary>
public static class WeightRangeChart
{
    public const int Width = 1000;
    public const int Height = 420;

    public static byte[] Png(string layer, IReadOnlyList<ChannelRanges> series)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (var i = 0; i < series.Count; i++)
        {
            var xs = Enumerable.Range(0, series[i].Ranges.Count).Select(c => (double)c).ToArray();
            var largest = series[i].Ranges.Max();
            var line = plot.Add.Scatter(xs, series[i].Ranges.Select(r => largest > 0 ? r / largest : 0).ToArray());
            line.Color = palette.GetColor(i);
            line.MarkerSize = 4;
            line.LineWidth = 1;
            line.LegendText = $"{series[i].Label} (spread {ReportNumbers.Ratio(series[i].Spread)})";
        }
        plot.Title($"{layer}: weight range per output channel, relative to the largest channel");
        plot.XLabel("output channel");
        plot.YLabel("max |w| / largest channel's max |w|");
        plot.Axes.SetLimitsX(-1, series.Max(s => s.Ranges.Count));
        plot.Axes.SetLimitsY(0, HeadroomAboveLargest);
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        return plot.GetImageBytes(Width, Height, ScottPlot.ImageFormat.Png);
    }

    // The y axis runs to 1.25 (the largest channel is 1), leaving room above it for the legend.
    private const double HeadroomAboveLargest = 1.25;
}
