using ScottPlot;
using SharpQuant.Analysis;

namespace SharpQuant.Plots;

/// <summary>
/// Per-output-channel weight boxplots (the tutorial's per-channel boxplots): one box per channel with its median,
/// whiskers at 1.5 IQR and the channel's extremes as dots where they lie beyond the whiskers. Hundreds of channels
/// stay readable: thin boxes, a tick every few channels, and a width that grows with the channel count.
/// </summary>
public static class ChannelBoxplotFigure
{
    /// <summary>Height of one panel in pixels.</summary>
    public const int PanelHeight = 560;

    // Width per channel and the margins around the boxes: 512 channels make a 2 248-pixel image, 16 channels the minimum.
    private const int PixelsPerChannel = 4;
    private const int MinimumWidth = 1000;
    private const int MaximumWidth = 2400;
    private const int MarginPixels = 200;

    /// <summary>At most this many labelled channel ticks per panel.</summary>
    private const int MaxTicks = 32;

    private static readonly Color BoxColor = Color.FromHex("#4C72B0");
    private static readonly Color OutlierColor = Color.FromHex("#C44E52");

    public static int WidthFor(int channels) => Math.Clamp(channels * PixelsPerChannel + MarginPixels, MinimumWidth, MaximumWidth);

    /// <summary>The plot of one weight's channel boxes; <paramref name="yLimits"/> fixes the value axis (for comparisons).</summary>
    public static Plot Create(string title, IReadOnlyList<ChannelBox> boxes, (double Low, double High)? yLimits = null)
    {
        var plot = new Plot();
        var boxPlot = plot.Add.Boxes(boxes.Select(b => new Box
        {
            Position = b.Channel,
            BoxMin = b.Q1,
            BoxMax = b.Q3,
            BoxMiddle = b.Median,
            WhiskerMin = b.WhiskerLow,
            WhiskerMax = b.WhiskerHigh,
            // Boxes a little narrower than a channel, so neighbours do not merge into one band.
            Width = 0.7,
        }).ToList());
        boxPlot.FillColor = BoxColor.WithAlpha(0.45);
        boxPlot.LineColor = BoxColor.Darken(0.4);
        boxPlot.LineWidth = boxes.Count > 128 ? 0.75f : 1;
        boxPlot.LegendText = "box Q1–Q3, median, whiskers at 1.5 IQR";

        var outliers = boxes.SelectMany(b => new[] { (b.Channel, b.Min, b.Min < b.WhiskerLow), (b.Channel, b.Max, b.Max > b.WhiskerHigh) })
            .Where(o => o.Item3).ToList();
        if (outliers.Count > 0)
        {
            var dots = plot.Add.ScatterPoints(outliers.Select(o => (double)o.Channel).ToArray(), outliers.Select(o => o.Item2).ToArray(), OutlierColor);
            dots.MarkerSize = boxes.Count > 128 ? 3 : 5;
            dots.LegendText = "channel min / max beyond the whiskers";
        }

        plot.Title(title, 16);
        plot.XLabel($"output channel ({boxes.Count} channels)");
        plot.YLabel("weight value");
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(TickInterval(boxes.Count));
        plot.Axes.SetLimitsX(-1, boxes.Count);
        if (yLimits is { } y)
        {
            plot.Axes.SetLimitsY(y.Low, y.High);
        }
        else
        {
            var (low, high) = ValueLimits(boxes);
            plot.Axes.SetLimitsY(low, high);
        }
        plot.Add.HorizontalLine(0, 1, Colors.Gray.WithAlpha(0.6), LinePattern.Dashed);
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    /// <summary>The value range of some boxes, extremes included, with a 5 % margin.</summary>
    public static (double Low, double High) ValueLimits(params IEnumerable<ChannelBox>[] boxSets)
    {
        var all = boxSets.SelectMany(b => b).ToList();
        var low = all.Min(b => b.Min);
        var high = all.Max(b => b.Max);
        var margin = Math.Max((high - low) * 0.05, 1e-12);
        return (low - margin, high + margin);
    }

    /// <summary>A round number of channels between labelled ticks, so at most <see cref="MaxTicks"/> labels.</summary>
    public static int TickInterval(int channels)
    {
        var interval = 1;
        while (channels / interval > MaxTicks)
        {
            interval *= 2;
        }
        return interval;
    }

    public static void Save(string title, IReadOnlyList<ChannelBox> boxes, string path) =>
        PlotFile.SavePng(Create(title, boxes), path, WidthFor(boxes.Count), PanelHeight);

    /// <summary>Two panels, one above the other, on the same value axis: before and after (for example without and with CLE).</summary>
    public static void SaveComparison(string firstTitle, IReadOnlyList<ChannelBox> first, string secondTitle, IReadOnlyList<ChannelBox> second, string path)
    {
        var limits = ValueLimits(first, second);
        var width = WidthFor(Math.Max(first.Count, second.Count));
        PlotFile.SavePng(
            [
                new PlotPanel(Create(firstTitle, first, limits), new PixelRect(0, width, PanelHeight, 0)),
                new PlotPanel(Create(secondTitle, second, limits), new PixelRect(0, width, 2 * PanelHeight, PanelHeight)),
            ],
            path, width, 2 * PanelHeight);
    }
}
