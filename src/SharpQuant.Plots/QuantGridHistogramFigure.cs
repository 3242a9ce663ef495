using System.Globalization;
using ScottPlot;
using SharpQuant.Analysis;

namespace SharpQuant.Plots;

/// <summary>
/// A <see cref="QuantGridHistogram"/> drawn as EasyQuant draws it: probability per bin as bars, the quantization
/// centroids as thin lines, the ends of the integer range dashed, the tensor's float range as red lines, the
/// 9-step moving average as a curve, clamped and zero-bin mass in the title, and an inset with the mean intra-bin
/// distribution. With gradients: the sensitivity per bin as bars of a second colour, its own curve and its own inset.
/// </summary>
public static class QuantGridHistogramFigure
{
    public const int Width = 1600;
    public const int Height = 820;

    // The insets sit in the upper corners of the data area, which the extended range leaves empty for most tensors.
    internal const int InsetWidth = 300;
    internal const int InsetHeight = 210;
    internal const int InsetMarginX = 110;
    internal const int InsetMarginY = 95;

    internal static readonly Color ValueColor = Color.FromHex("#1F77B4");
    private static readonly Color ValueCurveColor = Color.FromHex("#0B3C6B");
    internal static readonly Color GradientColor = Color.FromHex("#2CA02C");
    private static readonly Color GradientCurveColor = Color.FromHex("#145A14");
    private static readonly Color RangeColor = Color.FromHex("#D62728");
    private static readonly Color CentroidColor = Colors.Gray.WithAlpha(0.3);
    private static readonly Color ClampedColor = Colors.Gray.WithAlpha(0.16);

    // The off-scale note sits below the legend's band at the top of the data area.
    private const double NoteHeight = 0.72;

    // Room above the tallest bin for the insets and the legend.
    private const double HeadRoom = 1.45;

    private static readonly string[] SubBinLabels = ["−2/5", "−1/5", "0", "+1/5", "+2/5"];

    /// <summary>How a histogram is described in its figure.</summary>
    /// <param name="Title">The first title line, usually the module name and what is drawn (weights or activations).</param>
    /// <param name="ValueName">What the bars count, for the legend (weights, activations).</param>
    /// <param name="Gradient">What the gradients are, shown under the title when the histogram has them (null: not said).</param>
    public sealed record Labels(string Title, string ValueName, string? Gradient = null);

    public static void Save(QuantGridHistogram histogram, Labels labels, string path) =>
        PlotFile.SavePng(Panels(histogram, labels), path, Width, Height);

    /// <summary>The figure as PNG bytes (for a report).</summary>
    public static byte[] Png(QuantGridHistogram histogram, Labels labels) => PlotFile.Png(Panels(histogram, labels), Width, Height);

    /// <summary>The main plot and its insets, placed on a <see cref="Width"/> × <see cref="Height"/> image.</summary>
    public static IReadOnlyList<PlotPanel> Panels(QuantGridHistogram histogram, Labels labels)
    {
        var panels = new List<PlotPanel> { new(Main(histogram, labels), new PixelRect(0, Width, Height, 0)) };
        panels.Add(new PlotPanel(
            Inset("mean intra-bin distribution", labels.ValueName, histogram.IntraBin(), ValueColor),
            new PixelRect(InsetMarginX, InsetMarginX + InsetWidth, InsetMarginY + InsetHeight, InsetMarginY)));
        if (histogram.HasGradients)
        {
            panels.Add(new PlotPanel(
                Inset("mean intra-bin sensitivity", "|Σ gradient|", histogram.GradientIntraBin(), GradientColor),
                new PixelRect(Width - InsetMarginX / 2 - InsetWidth, Width - InsetMarginX / 2, InsetMarginY + InsetHeight, InsetMarginY)));
        }
        return panels;
    }

    private static Plot Main(QuantGridHistogram h, Labels labels)
    {
        var plot = new Plot();
        var centres = Enumerable.Range(0, h.BinCount).Select(b => h.ToAxis(h.BinCentre(b))).ToArray();

        // Centroids first, so the bars draw over them; one legend entry for all of them.
        for (var q = h.FirstCentroid; q < h.FirstCentroid + h.Steps; q++)
        {
            var line = plot.Add.VerticalLine(h.ToAxis(q), 0.5f, CentroidColor);
            line.LegendText = q == h.FirstCentroid ? "quantization centroids" : "";
        }
        // The values outside [qmin − ½, qmax + ½) round beyond the grid and are clamped: shade where they would lie.
        var low = plot.Add.HorizontalSpan(h.ToAxis(h.Start), h.ToAxis(h.QMin - 0.5), ClampedColor);
        low.LegendText = $"clamped region (rounds below qmin = {h.QMin} or above qmax = {h.QMax})";
        plot.Add.HorizontalSpan(h.ToAxis(h.QMax + 0.5), h.ToAxis(h.Start + h.Steps), ClampedColor);

        // Drawn in percent: short tick labels (0.12 rather than 0.0012).
        var probabilities = Percent(h.Probabilities());
        var gradientMass = h.HasGradients ? Percent(h.GradientMass()) : null;
        AddHistogram(plot, h, probabilities, ValueColor, labels.ValueName + " (% per bin)");
        if (gradientMass is not null)
        {
            AddHistogram(plot, h, gradientMass, GradientColor, "sensitivity: % of |Σ gradient| per bin");
        }
        var smooth = plot.Add.ScatterLine(centres, Percent(h.SmoothedProbabilities()), ValueCurveColor);
        smooth.LineWidth = 2;
        smooth.LegendText = $"{labels.ValueName}, moving average over {QuantGridHistogram.SmoothingSteps} steps";
        if (h.HasGradients)
        {
            var gradientSmooth = plot.Add.ScatterLine(centres, Percent(h.SmoothedGradientMass()), GradientCurveColor);
            gradientSmooth.LineWidth = 2;
            gradientSmooth.LegendText = $"sensitivity, moving average over {QuantGridHistogram.SmoothingSteps} steps";
        }
        if (h.Total > 0)
        {
            foreach (var (units, isMin) in new[] { (h.MinUnits, true), (h.MaxUnits, false) })
            {
                // Dashed, so a spike in the bin under it (a channel's extreme on the grid's edge) stays visible.
                var line = plot.Add.VerticalLine(h.ToAxis(units), 1.5f, RangeColor, LinePattern.Dashed);
                line.LegendText = isMin ? $"float range [{Format(h.Min)}, {Format(h.Max)}]" : "";
            }
        }

        var zeroPercent = 100 * h.ZeroBinMass;
        var gradientLine = h.HasGradients && labels.Gradient is { } g ? $"\ngreen: {g}" : "";
        plot.Title($"{labels.Title}\nclamped mass {ClampedText(h)}, " +
            $"zero-bin mass {zeroPercent.ToString("0.00", CultureInfo.InvariantCulture)} %, {h.Total:N0} values, " +
            $"{QuantGridHistogram.BinsPerStep} bins per step{gradientLine}", 15);
        plot.XLabel(h.Axis == QuantGridAxis.Integer
            ? "integer value (w/s + z), each output channel on its own scale"
            : $"value (grid: s = {Format(h.Scale)}, z = {h.ZeroPoint}; q = round(x/s) + z)");
        plot.YLabel(h.HasGradients ? "% of values per bin (1/5 step); green: % of |Σ gradient|" : "% of values per bin (1/5 of a step)");
        plot.Axes.SetLimitsX(h.ToAxis(h.Start), h.ToAxis(h.Start + h.Steps));
        // The zero bin of a ReLU output can hold half the mass and flatten everything else: the scale follows the other
        // bins, and a zero bin above it is cut at the top with its height written beside it (it is in the title too).
        var zeroBin = h.CentroidBin(h.Axis == QuantGridAxis.Integer ? 0 : h.ZeroPoint);
        var top = Math.Max(MaxExcept(probabilities, zeroBin), gradientMass is null ? 0 : MaxExcept(gradientMass, zeroBin));
        top = Math.Max(top, 1e-9) * HeadRoom;
        plot.Axes.SetLimitsY(0, top);
        var gradientOff = gradientMass is not null && gradientMass[zeroBin] > top;
        if (probabilities[zeroBin] > top || gradientOff)
        {
            // The sensitivity of a ReLU output's zero bin is often off scale too: the zeros still move the output.
            var parts = new List<string>();
            if (probabilities[zeroBin] > top)
            {
                parts.Add($"{probabilities[zeroBin].ToString("0.0", CultureInfo.InvariantCulture)} % of {labels.ValueName}");
            }
            if (gradientOff)
            {
                parts.Add($"{gradientMass![zeroBin].ToString("0.0", CultureInfo.InvariantCulture)} % of |Σ gradient|");
            }
            var note = plot.Add.Text($"← zero bin {string.Join(", ", parts)} (off scale)", h.ToAxis(h.BinCentre(zeroBin)), top * NoteHeight);
            note.LabelFontSize = 13;
            note.LabelFontColor = ValueCurveColor;
            note.LabelAlignment = Alignment.UpperLeft;
            note.LabelOffsetX = 4;
        }
        plot.ShowLegend(Alignment.UpperCenter);
        return plot;
    }

    /// <summary>
    /// A histogram as a filled staircase rather than bars: an int8 grid has 2 560 bins, narrower than a pixel on the
    /// value axis, and a staircase's outline keeps even a one-bin spike (the zero bin of a ReLU output) visible.
    /// </summary>
    private static void AddHistogram(Plot plot, QuantGridHistogram h, double[] heights, Color color, string legend)
    {
        var xs = new double[2 * heights.Length + 2];
        var ys = new double[xs.Length];
        xs[0] = h.ToAxis(h.Start);
        for (var b = 0; b < heights.Length; b++)
        {
            xs[2 * b + 1] = h.ToAxis(h.Start + b * QuantGridHistogram.BinWidth);
            xs[2 * b + 2] = h.ToAxis(h.Start + (b + 1) * QuantGridHistogram.BinWidth);
            ys[2 * b + 1] = ys[2 * b + 2] = heights[b];
        }
        xs[^1] = xs[^2];
        var outline = plot.Add.ScatterLine(xs, ys, color);
        outline.LineWidth = 1;
        outline.FillY = true;
        outline.FillYValue = 0;
        outline.FillYColor = color.WithAlpha(0.45);
        outline.LegendText = legend;
    }

    private static Plot Inset(string title, string what, double[] intraBin, Color color)
    {
        var plot = new Plot();
        var total = intraBin.Sum();
        var bars = plot.Add.Bars(intraBin.Select((v, i) => new Bar
        {
            Position = i,
            // Shown as a share of the mass inside the binned range, so the five bars sum to 1.
            Value = total > 0 ? v / total : 0,
            FillColor = i == QuantGridHistogram.CentroidSubBin ? color.Darken(0.35) : color,
            LineWidth = 0,
        }).ToList());
        bars.Color = color;
        plot.Axes.Bottom.SetTicks([0, 1, 2, 3, 4], SubBinLabels);
        plot.Title(title, 12);
        plot.XLabel("sub-bin offset from the centroid (steps)", 10);
        plot.YLabel($"share of {what}", 10);
        plot.Axes.SetLimitsX(-0.6, 4.6);
        plot.Axes.SetLimitsY(0, Math.Max(1e-9, intraBin.Max() / Math.Max(total, 1e-300)) * 1.2);
        plot.Axes.Left.TickLabelStyle.FontSize = 10;
        plot.Axes.Bottom.TickLabelStyle.FontSize = 10;
        plot.FigureBorder = new LineStyle { Width = 1, Color = Colors.Gray };
        return plot;
    }

    /// <summary>The clamped mass in percent, with the count when it is too small to show in three decimals.</summary>
    internal static string ClampedText(QuantGridHistogram h)
    {
        var percent = 100 * h.ClampedMass;
        var count = (long)Math.Round(h.ClampedMass * h.Total);
        return count == 0 ? "0 %"
            : percent < 0.001 ? $"< 0.001 % ({count:N0} value{(count == 1 ? "" : "s")})"
            : percent.ToString("0.000", CultureInfo.InvariantCulture) + " %";
    }

    private static double[] Percent(double[] fractions) => fractions.Select(f => 100 * f).ToArray();

    private static double MaxExcept(double[] values, int skip)
    {
        var max = 0.0;
        for (var i = 0; i < values.Length; i++)
        {
            if (i != skip)
            {
                max = Math.Max(max, values[i]);
            }
        }
        return max;
    }

    private static string Format(double value) => value.ToString("G4", CultureInfo.InvariantCulture);
}
