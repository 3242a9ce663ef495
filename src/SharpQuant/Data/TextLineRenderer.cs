using SkiaSharp;

namespace SharpQuant.Data;

/// <summary>Draws a <see cref="TextLineSpec"/> with SkiaSharp, then adds its noise and, for label 180, turns it upside down.</summary>
public static class TextLineRenderer
{
    public static RgbImage Render(TextLineSpec spec, DejaVuFonts fonts)
    {
        var info = new SKImageInfo(spec.Width, spec.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var bitmap = new SKBitmap(info);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(new SKColor(spec.Background.R, spec.Background.G, spec.Background.B));
            using var font = new SKFont(fonts[spec.Font], spec.FontSize)
            {
                // Plain antialiasing with no hinting: glyph shapes then do not depend on hinting tables or
                // subpixel layout, which keeps the pixels the same across machines with the same SkiaSharp.
                Edging = SKFontEdging.Antialias,
                Hinting = SKFontHinting.None,
                Subpixel = false,
            };
            using var paint = new SKPaint
            {
                Color = new SKColor(spec.Ink.R, spec.Ink.G, spec.Ink.B),
                IsAntialias = true,
                MaskFilter = spec.BlurSigma > 0 ? SKMaskFilter.CreateBlur(SKBlurStyle.Normal, spec.BlurSigma) : null,
            };
            canvas.DrawText(spec.Text, spec.X, spec.Baseline, SKTextAlign.Left, font, paint);
        }
        var image = ImageFiles.ToRgb(bitmap, $"text:{spec.Text}");
        AddNoise(image.Pixels, spec.NoiseSigma, spec.NoiseSeed);
        return spec.Rotated ? ImageFiles.Rotate180(image) : image;
    }

    /// <summary>Adds independent Gaussian noise to every byte (Box–Muller from a seeded generator), clamped to 0–255.</summary>
    private static void AddNoise(byte[] pixels, float sigma, int seed)
    {
        if (sigma <= 0)
        {
            return;
        }
        var random = new Random(seed);
        for (var i = 0; i < pixels.Length; i += 2)
        {
            var u1 = 1.0 - random.NextDouble();
            var u2 = random.NextDouble();
            var r = Math.Sqrt(-2.0 * Math.Log(u1)) * sigma;
            pixels[i] = Clamp(pixels[i] + r * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < pixels.Length)
            {
                pixels[i + 1] = Clamp(pixels[i + 1] + r * Math.Sin(2 * Math.PI * u2));
            }
        }
    }

    private static byte Clamp(double value) => (byte)Math.Clamp(Math.Round(value), 0, 255);
}
