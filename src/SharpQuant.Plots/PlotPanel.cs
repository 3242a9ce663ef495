namespace SharpQuant.Plots;

/// <summary>One plot drawn into a rectangle of a figure: a panel of a comparison, or an inset over another plot.</summary>
public sealed record PlotPanel(ScottPlot.Plot Plot, ScottPlot.PixelRect Rect);
