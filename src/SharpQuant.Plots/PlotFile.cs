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
}
