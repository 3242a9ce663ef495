using SkiaSharp;

namespace SharpQuant.Plots;

/// <summary>Where the plotting project saves images: through a temporary file moved into place, so a failed
/// render never leaves half an image behind.</summary>
public static class PlotFile
{
    public static void SavePng(ScottPlot.Plot plot, string path, int width, int height) =>
        SharpQuant.IO.AtomicFile.Write(path, stream =>
        {
            var bytes = plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png);
            stream.Write(bytes);
        });

    /// <summary>
    /// Several plots drawn into one image, in order (later panels over earlier ones: insets come last). ScottPlot 5
    /// has no inset helper, so each plot renders into an image of its rectangle's size (ScottPlot clears the whole
    /// canvas it renders to), which is then drawn at the rectangle's place.
    /// </summary>
    public static void SavePng(IReadOnlyList<PlotPanel> panels, string path, int width, int height) =>
        SharpQuant.IO.AtomicFile.Write(path, stream => stream.Write(Png(panels, width, height)));

    /// <summary>The panels drawn into one PNG in memory (for a report, which embeds the bytes).</summary>
    public static byte[] Png(IReadOnlyList<PlotPanel> panels, int width, int height)
    {
        using var stream = new MemoryStream();
        Render(panels, width, height, stream);
        return stream.ToArray();
    }

    private static void Render(IReadOnlyList<PlotPanel> panels, int width, int height, Stream stream)
    {
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new SharpQuantException($"cannot create a {width}×{height} drawing surface");
        surface.Canvas.Clear(SKColors.White);
        foreach (var panel in panels)
        {
            var (w, h) = ((int)Math.Round(panel.Rect.Width), (int)Math.Round(panel.Rect.Height));
            using var part = SKSurface.Create(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul))
                ?? throw new SharpQuantException($"cannot create a {w}×{h} drawing surface");
            panel.Plot.Render(part.Canvas, w, h);
            using var partImage = part.Snapshot();
            surface.Canvas.DrawImage(partImage, panel.Rect.Left, panel.Rect.Top);
        }
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        data.SaveTo(stream);
    }
}
