using SkiaSharp;

namespace SharpQuant.Tests.Support;

/// <summary>Reads back the PNGs the plots write, to check their size and that something was drawn where it should be.</summary>
public static class PngImages
{
    public static SKBitmap Decode(string path)
    {
        Assert.True(File.Exists(path), $"no image at {path}");
        return SKBitmap.Decode(path) ?? throw new InvalidOperationException($"{path} is not a decodable image");
    }

    /// <summary>The fraction of pixels in the rectangle that are not (near) white.</summary>
    public static double InkFraction(SKBitmap image, SKRectI rect)
    {
        long ink = 0, total = 0;
        for (var y = rect.Top; y < rect.Bottom; y++)
        {
            for (var x = rect.Left; x < rect.Right; x++)
            {
                var c = image.GetPixel(x, y);
                if (c.Red < 240 || c.Green < 240 || c.Blue < 240)
                {
                    ink++;
                }
                total++;
            }
        }
        return (double)ink / total;
    }

    /// <summary>How many pixels in the rectangle are close to <paramref name="colour"/> (any alpha blending aside).</summary>
    public static int CountNear(SKBitmap image, SKRectI rect, SKColor colour, int tolerance = 40)
    {
        var count = 0;
        for (var y = rect.Top; y < rect.Bottom; y++)
        {
            for (var x = rect.Left; x < rect.Right; x++)
            {
                var c = image.GetPixel(x, y);
                if (Math.Abs(c.Red - colour.Red) <= tolerance && Math.Abs(c.Green - colour.Green) <= tolerance && Math.Abs(c.Blue - colour.Blue) <= tolerance)
                {
                    count++;
                }
            }
        }
        return count;
    }

    public static SKRectI Whole(SKBitmap image) => new(0, 0, image.Width, image.Height);
}
