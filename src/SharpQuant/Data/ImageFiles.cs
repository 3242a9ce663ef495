using SharpQuant.IO;
using SkiaSharp;

namespace SharpQuant.Data;

/// <summary>An image decoded to 8-bit RGB, row-major, three bytes per pixel.</summary>
public sealed record RgbImage(int Width, int Height, byte[] Pixels, string Source);

/// <summary>Decodes JPEG, PNG, BMP and WebP files with SkiaSharp and resizes them.</summary>
public static class ImageFiles
{
    public static readonly IReadOnlyList<string> Extensions = [".jpg", ".jpeg", ".png", ".bmp", ".webp"];

    /// <summary>The image files of a folder, sorted by name so every run sees the same order.</summary>
    public static IReadOnlyList<string> List(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new SharpQuantException($"image folder '{folder}' does not exist");
        }
        return Directory.EnumerateFiles(folder)
            .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// The most pixels an image may have, in the file or after a preset's resize: 100 megapixels, above the full
    /// resolution of today's cameras (about 50 MP) and about 1.2 GB while decoded (the RGBA bitmap, its copy and
    /// the RGB bytes). A header that promises more (a 30000×30000 PNG, a decompression bomb) is refused before any
    /// pixel is allocated, so one hostile file cannot abort a run over a folder of good photos.
    /// </summary>
    public const long MaxPixels = 100_000_000;

    /// <summary>
    /// Whether the file starts like an image SkiaSharp decodes, within <see cref="MaxPixels"/>; reads the header
    /// only, so a truncated file may still fail <see cref="Decode"/>.
    /// </summary>
    public static bool CanDecode(string path) => HeaderProblem(path) is null;

    /// <summary>Why the file's header is not that of a decodable image of a usable size; null when it is.</summary>
    public static string? HeaderProblem(string path)
    {
        try
        {
            using var codec = OpenCodec(path);
            return null;
        }
        catch (SharpQuantException e)
        {
            return e.Message;
        }
    }

    /// <summary>
    /// Decodes the whole image, or fails with a <see cref="SharpQuantException"/> saying why: not an image, more
    /// pixels than <see cref="MaxPixels"/>, or data that ends early or is corrupt (SkiaSharp's own decode would
    /// return such an image with its missing rows filled in).
    /// </summary>
    public static RgbImage Decode(string path)
    {
        using var codec = OpenCodec(path);
        var info = codec.Info;
        // As SKBitmap.Decode does, so the pixels are those it gave: unpremultiplied alpha is decoded premultiplied.
        if (info.AlphaType == SKAlphaType.Unpremul)
        {
            info.AlphaType = SKAlphaType.Premul;
        }
        using var bitmap = new SKBitmap();
        if (!bitmap.TryAllocPixels(info))
        {
            throw new SharpQuantException($"'{path}' needs {info.Width}×{info.Height} pixels, more memory than is free");
        }
        var result = codec.GetPixels(info, bitmap.GetPixels());
        return result switch
        {
            SKCodecResult.Success => ToRgb(bitmap, path),
            SKCodecResult.IncompleteInput => throw new SharpQuantException($"'{path}' is truncated: its image data ends before the last row"),
            SKCodecResult.ErrorInInput => throw new SharpQuantException($"'{path}' has corrupt image data"),
            _ => throw new SharpQuantException($"'{path}' cannot be decoded ({result})"),
        };
    }

    /// <summary>Refuses a size beyond <see cref="MaxPixels"/>, before anything that large is allocated.</summary>
    public static void CheckPixelCount(double width, double height, string source, string what)
    {
        if (width * height > MaxPixels)
        {
            throw new SharpQuantException(
                $"'{source}' {what} {width:0}×{height:0} pixels, more than the limit of {MaxPixels / 1_000_000} megapixels");
        }
    }

    private static SKCodec OpenCodec(string path)
    {
        // Checked before SkiaSharp opens the file: a FIFO named a.jpg would block the run forever.
        if (RegularFiles.Problem(path) is { } problem)
        {
            throw new SharpQuantException($"'{path}' {problem}");
        }
        var codec = SKCodec.Create(path, out var result)
            ?? throw new SharpQuantException(result == SKCodecResult.IncompleteInput
                ? $"'{path}' is truncated: it ends inside its image header"
                : $"'{path}' is not an image SharpQuant can decode (JPEG, PNG, BMP, WebP)");
        try
        {
            CheckPixelCount(codec.Info.Width, codec.Info.Height, path, "says it has");
            return codec;
        }
        catch
        {
            codec.Dispose();
            throw;
        }
    }

    /// <summary>Resizes with bilinear filtering (mipmaps when shrinking a lot, so small crops are not aliased).</summary>
    public static RgbImage Resize(RgbImage image, int width, int height)
    {
        CheckPixelCount(width, height, image.Source, "would be resized to");
        using var source = FromRgb(image);
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var resized = source.Resize(info, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear))
            ?? throw new SharpQuantException($"cannot resize '{image.Source}' to {width}×{height}");
        return ToRgb(resized, image.Source);
    }

    public static RgbImage Crop(RgbImage image, int left, int top, int width, int height)
    {
        if (left < 0 || top < 0 || left + width > image.Width || top + height > image.Height)
        {
            throw new ArgumentOutOfRangeException(nameof(left), $"crop {width}×{height} at ({left}, {top}) leaves the {image.Width}×{image.Height} image");
        }
        var pixels = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        {
            Array.Copy(image.Pixels, ((top + y) * image.Width + left) * 3, pixels, y * width * 3, width * 3);
        }
        return image with { Width = width, Height = height, Pixels = pixels };
    }

    public static RgbImage FlipHorizontal(RgbImage image)
    {
        var pixels = new byte[image.Pixels.Length];
        for (var y = 0; y < image.Height; y++)
        {
            for (var x = 0; x < image.Width; x++)
            {
                Array.Copy(image.Pixels, (y * image.Width + x) * 3, pixels, (y * image.Width + image.Width - 1 - x) * 3, 3);
            }
        }
        return image with { Pixels = pixels };
    }

    /// <summary>Turns the image upside down (a 180° rotation): pixel i becomes pixel n−1−i.</summary>
    public static RgbImage Rotate180(RgbImage image)
    {
        var pixels = new byte[image.Pixels.Length];
        var count = image.Width * image.Height;
        for (var i = 0; i < count; i++)
        {
            Array.Copy(image.Pixels, i * 3, pixels, (count - 1 - i) * 3, 3);
        }
        return image with { Pixels = pixels };
    }

    /// <summary>The image as lossless PNG bytes.</summary>
    public static byte[] EncodePng(RgbImage image)
    {
        using var bitmap = FromRgb(image);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new SharpQuantException($"cannot encode '{image.Source}' as PNG");
        return data.ToArray();
    }

    internal static RgbImage ToRgb(SKBitmap bitmap, string source)
    {
        using var rgba = bitmap.ColorType == SKColorType.Rgba8888 && bitmap.AlphaType != SKAlphaType.Premul
            ? bitmap.Copy()
            : bitmap.Copy(SKColorType.Rgba8888);
        var bytes = rgba.GetPixelSpan();
        var pixels = new byte[rgba.Width * rgba.Height * 3];
        for (int i = 0, j = 0; j < pixels.Length; i += 4, j += 3)
        {
            pixels[j] = bytes[i];
            pixels[j + 1] = bytes[i + 1];
            pixels[j + 2] = bytes[i + 2];
        }
        return new RgbImage(rgba.Width, rgba.Height, pixels, source);
    }

    internal static SKBitmap FromRgb(RgbImage image)
    {
        var bitmap = new SKBitmap(new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var bytes = bitmap.GetPixelSpan();
        for (int i = 0, j = 0; j < image.Pixels.Length; i += 4, j += 3)
        {
            bytes[i] = image.Pixels[j];
            bytes[i + 1] = image.Pixels[j + 1];
            bytes[i + 2] = image.Pixels[j + 2];
            bytes[i + 3] = 255;
        }
        return bitmap;
    }
}
