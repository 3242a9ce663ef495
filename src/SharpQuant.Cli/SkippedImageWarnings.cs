using SharpQuant.Data;

namespace SharpQuant.Cli;

/// <summary>One warning line per image file that gave no sample, with the reason (truncated, too large, not an image).</summary>
public static class SkippedImageWarnings
{
    public static void Write(TextWriter error, IEnumerable<SkippedImage> skipped)
    {
        foreach (var s in skipped)
        {
            error.WriteLine($"warning: skipped {s.Reason}");
        }
    }
}
