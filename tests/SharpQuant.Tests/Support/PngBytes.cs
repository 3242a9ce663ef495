using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using SkiaSharp;

namespace SharpQuant.Tests.Support;

/// <summary>
/// PNG files built chunk by chunk, so a test can write what no encoder would: a header that lies about the size,
/// a decompression bomb, data cut short.
/// </summary>
public static class PngBytes
{
    private static readonly byte[] Signature = [137, 80, 78, 71, 13, 10, 26, 10];

    /// <summary>An 8-bit greyscale PNG of the given size whose pixel rows are all zero, deflated (a few bytes per megapixel).</summary>
    public static byte[] Grey(int width, int height)
    {
        using var deflated = new MemoryStream();
        using (var zlib = new ZLibStream(deflated, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            // Each row is a filter byte (0: none) followed by the row's pixels.
            var row = new byte[width + 1];
            for (var y = 0; y < height; y++)
            {
                zlib.Write(row);
            }
        }
        return Build(width, height, colourType: 0, deflated.ToArray());
    }

    /// <summary>A PNG whose header promises <paramref name="width"/>×<paramref name="height"/> RGB pixels but whose data holds only a few bytes.</summary>
    public static byte[] LyingHeader(int width, int height) => Build(width, height, colourType: 2, ZLib(new byte[16]));

    /// <summary>A real RGB PNG of a colour gradient, encoded by Skia.</summary>
    public static byte[] Gradient(int width, int height)
    {
        using var bitmap = new SKBitmap(width, height);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                // Pixels that do not repeat, so the encoded data does not compress to almost nothing.
                bitmap.SetPixel(x, y, new SKColor((byte)(7 * x + 3 * y), (byte)(5 * y ^ x), (byte)(x * y)));
            }
        }
        using var image = SKImage.FromBitmap(bitmap);
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    /// <summary>The PNG's chunks up to and including the IHDR and the first <paramref name="idatBytes"/> bytes of its first IDAT chunk.</summary>
    public static byte[] HeaderAndIdatStart(byte[] png, int idatBytes)
    {
        var offset = Signature.Length;
        while (offset < png.Length)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(offset));
            var type = Encoding.ASCII.GetString(png, offset + 4, 4);
            if (type == "IDAT")
            {
                return png.AsSpan(0, offset + 8 + idatBytes).ToArray();
            }
            offset += 12 + length;
        }
        throw new InvalidOperationException("the PNG has no IDAT chunk");
    }

    private static byte[] Build(int width, int height, byte colourType, byte[] idat)
    {
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;
        header[9] = colourType;
        using var file = new MemoryStream();
        file.Write(Signature);
        Chunk(file, "IHDR", header);
        Chunk(file, "IDAT", idat);
        Chunk(file, "IEND", []);
        return file.ToArray();
    }

    private static byte[] ZLib(byte[] data)
    {
        using var deflated = new MemoryStream();
        using (var zlib = new ZLibStream(deflated, CompressionLevel.Optimal, leaveOpen: true))
        {
            zlib.Write(data);
        }
        return deflated.ToArray();
    }

    private static void Chunk(Stream file, string type, byte[] data)
    {
        var length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        file.Write(length);
        var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        file.Write(typed);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typed));
        file.Write(crc);
    }

    /// <summary>The CRC-32 of PNG chunks (ISO 3309, reflected polynomial 0xEDB88320), bit by bit: the chunks are small.</summary>
    private static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }
        return ~crc;
    }
}
