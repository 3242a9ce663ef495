using SharpQuant.Data;
using SharpQuant.Tests.Support;
using SkiaSharp;

namespace SharpQuant.Tests.Data;

/// <summary>The four formats the Data layer promises, each decoded to known pixels.</summary>
public class ImageDecodingTests
{
    private static readonly (byte R, byte G, byte B)[] Pixels = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (10, 20, 30)];

    /// <summary>A 2×2 24-bit BMP written by hand (Skia encodes no BMP): rows bottom-up, BGR, padded to 4 bytes.</summary>
    private static byte[] Bmp()
    {
        const int rowBytes = 8;
        var data = new byte[54 + rowBytes * 2];
        void Int(int offset, int value) => BitConverter.GetBytes(value).CopyTo(data, offset);
        data[0] = (byte)'B';
        data[1] = (byte)'M';
        Int(2, data.Length);
        Int(10, 54);
        Int(14, 40);
        Int(18, 2);
        Int(22, 2);
        data[26] = 1;
        data[28] = 24;
        Int(34, rowBytes * 2);
        for (var y = 0; y < 2; y++)
        {
            var row = 54 + (1 - y) * rowBytes;
            for (var x = 0; x < 2; x++)
            {
                var (r, g, b) = Pixels[y * 2 + x];
                data[row + x * 3] = b;
                data[row + x * 3 + 1] = g;
                data[row + x * 3 + 2] = r;
            }
        }
        return data;
    }

    private static byte[] Encoded(SKEncodedImageFormat format)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(2, 2, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (var i = 0; i < 4; i++)
        {
            bitmap.SetPixel(i % 2, i / 2, new SKColor(Pixels[i].R, Pixels[i].G, Pixels[i].B));
        }
        using var image = SKImage.FromBitmap(bitmap);
        return image.Encode(format, 100).ToArray();
    }

    [Theory]
    [InlineData("bmp")]
    [InlineData("png")]
    [InlineData("webp")]
    public void LosslessFormatsDecodeToTheExactPixels(string format)
    {
        using var temp = TestData.NewTempFolder();
        var path = temp.File("tiny." + format);
        File.WriteAllBytes(path, format switch
        {
            "bmp" => Bmp(),
            "png" => Encoded(SKEncodedImageFormat.Png),
            // Quality 100 selects lossless WebP in Skia.
            _ => Encoded(SKEncodedImageFormat.Webp),
        });
        var image = ImageFiles.Decode(path);
        Assert.Equal((2, 2), (image.Width, image.Height));
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(Pixels[i], (image.Pixels[i * 3], image.Pixels[i * 3 + 1], image.Pixels[i * 3 + 2]));
        }
        Assert.Contains(path, ImageFiles.List(temp.Path));
    }

    [Fact]
    public void JpegDecodesCloseToTheOriginal()
    {
        using var temp = TestData.NewTempFolder();
        var path = temp.File("tiny.jpg");
        File.WriteAllBytes(path, Encoded(SKEncodedImageFormat.Jpeg));
        var image = ImageFiles.Decode(path);
        Assert.Equal((2, 2), (image.Width, image.Height));
        // JPEG is lossy and subsamples colour: only the dark pixel's brightness is checked.
        Assert.InRange(image.Pixels[9] + image.Pixels[10] + image.Pixels[11], 0, 200);
    }
}
