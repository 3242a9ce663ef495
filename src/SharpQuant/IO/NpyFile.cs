using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace SharpQuant.IO;

/// <summary>
/// NumPy's .npy format (version 1.0 written; 1.0, 2.0 and 3.0 read): a magic string, a header that is a Python dict
/// literal (dtype, C or Fortran order, shape), then the raw elements. Little-endian C-order tensors of the element
/// types the IR stores are read and written; anything else is refused with the reason.
/// </summary>
public static partial class NpyFile
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>The header, magic included, is padded to a multiple of this (NumPy's alignment).</summary>
    private const int HeaderAlignment = 64;

    private static readonly (ElementType Type, string Descr)[] Types =
    [
        (ElementType.Float, "<f4"), (ElementType.Double, "<f8"), (ElementType.Int64, "<i8"), (ElementType.Int32, "<i4"),
        (ElementType.Int8, "|i1"), (ElementType.UInt8, "|u1"), (ElementType.Bool, "|b1"),
    ];

    public static void Write(string path, Tensor tensor) => AtomicFile.WriteAllBytes(path, ToBytes(tensor));

    public static byte[] ToBytes(Tensor tensor)
    {
        var descr = Types.FirstOrDefault(t => t.Type == tensor.ElementType).Descr
            ?? throw new SharpQuantException($"cannot write {tensor.ElementType.DisplayName()} tensors as .npy");
        var shape = tensor.Rank == 1
            ? $"({tensor.Shape[0]},)"
            : "(" + string.Join(", ", tensor.Shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + ")";
        var header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}";
        // magic (6) + version (2) + length (2) + header + padding + newline, aligned.
        var unpadded = Magic.Length + 4 + header.Length + 1;
        header += new string(' ', (HeaderAlignment - unpadded % HeaderAlignment) % HeaderAlignment) + "\n";
        var result = new byte[Magic.Length + 4 + header.Length + tensor.ByteCount];
        Magic.CopyTo(result, 0);
        result[6] = 1;
        result[7] = 0;
        BitConverter.TryWriteBytes(result.AsSpan(8, 2), (ushort)header.Length);
        Encoding.ASCII.GetBytes(header).CopyTo(result, 10);
        tensor.Bytes.CopyTo(result.AsSpan(10 + header.Length));
        return result;
    }

    public static Tensor Read(string path)
    {
        RequireRegular(path);
        try
        {
            return FromBytes(File.ReadAllBytes(path));
        }
        catch (SharpQuantException e)
        {
            throw new SharpQuantException($"'{path}': {e.Message}");
        }
    }

    /// <summary>
    /// The element type and shape of a .npy file, read from its header alone (the data is not read), with the file's
    /// length checked against them.
    /// </summary>
    public static NpyHeader ReadHeader(string path)
    {
        RequireRegular(path);
        try
        {
            using var stream = File.OpenRead(path);
            var prefix = new byte[12];
            var prefixLength = stream.ReadAtLeast(prefix, prefix.Length, throwOnEndOfStream: false);
            var (start, headerLength) = HeaderExtent(prefix.AsSpan(0, prefixLength));
            var bytes = new byte[start + headerLength];
            stream.Position = 0;
            if (stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) < bytes.Length)
            {
                throw new SharpQuantException("truncated .npy header");
            }
            var header = ParseHeader(bytes);
            CheckDataLength(header, stream.Length - header.DataOffset);
            return header;
        }
        catch (SharpQuantException e)
        {
            throw new SharpQuantException($"'{path}': {e.Message}");
        }
    }

    public static Tensor FromBytes(ReadOnlySpan<byte> bytes)
    {
        var header = ParseHeader(bytes);
        var data = bytes[(int)header.DataOffset..];
        CheckDataLength(header, data.Length);
        return new Tensor(header.Type, header.Shape, data.ToArray());
    }

    // A FIFO named like a tensor file would block the read forever.
    private static void RequireRegular(string path)
    {
        if (RegularFiles.Problem(path) is { } problem)
        {
            throw new SharpQuantException($"'{path}' {problem}");
        }
    }

    /// <summary>Where the header text starts and how long it is, from the magic, version and length fields.</summary>
    private static (int Start, int Length) HeaderExtent(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 10 || !bytes[..6].SequenceEqual(Magic))
        {
            throw new SharpQuantException("not a .npy file (no \\x93NUMPY magic)");
        }
        var major = bytes[6];
        var (lengthBytes, headerLength) = major switch
        {
            1 => (2, (int)BitConverter.ToUInt16(bytes.Slice(8, 2))),
            2 or 3 when bytes.Length >= 12 => (4, checked((int)BitConverter.ToUInt32(bytes.Slice(8, 4)))),
            _ => throw new SharpQuantException($"unsupported .npy version {major}.{bytes[7]}"),
        };
        if (headerLength < 0)
        {
            throw new SharpQuantException("truncated .npy header");
        }
        return (8 + lengthBytes, headerLength);
    }

    private static NpyHeader ParseHeader(ReadOnlySpan<byte> bytes)
    {
        var (start, headerLength) = HeaderExtent(bytes);
        if (start + headerLength > bytes.Length)
        {
            throw new SharpQuantException("truncated .npy header");
        }
        var header = Encoding.ASCII.GetString(bytes.Slice(start, headerLength));
        var descr = DescrPattern().Match(header) is { Success: true } d ? d.Groups[1].Value
            : throw new SharpQuantException("the .npy header has no descr");
        var type = Types.FirstOrDefault(t => t.Descr == descr || t.Descr == "<" + descr.TrimStart('=')).Type;
        if (type == ElementType.Undefined)
        {
            throw new SharpQuantException($"unsupported .npy dtype '{descr}' (use little-endian float32, float64, int64, int32, int8, uint8 or bool)");
        }
        if (FortranPattern().Match(header) is not { Success: true } f || f.Groups[1].Value != "False")
        {
            throw new SharpQuantException("only C-order .npy arrays are read (fortran_order must be False)");
        }
        var shapeText = ShapePattern().Match(header) is { Success: true } s ? s.Groups[1].Value
            : throw new SharpQuantException("the .npy header has no shape");
        var shape = shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(t => long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v
                : throw new SharpQuantException($"bad .npy shape '({shapeText})'"))
            .ToArray();
        long expected;
        try
        {
            expected = checked(Shapes.ElementCount(shape) * type.SizeInBytes());
        }
        catch (OverflowException)
        {
            throw new SharpQuantException($"the .npy shape ({shapeText}) is too large");
        }
        return new NpyHeader(type, shape, start + headerLength, expected, descr, shapeText);
    }

    private static void CheckDataLength(NpyHeader header, long length)
    {
        if (length != header.DataBytes)
        {
            throw new SharpQuantException($"the .npy data holds {length} bytes, its shape ({header.ShapeText}) of {header.Descr} needs {header.DataBytes}");
        }
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}

/// <summary>What a .npy header says: element type, shape, where the data starts and how many bytes it takes.</summary>
public sealed record NpyHeader(ElementType Type, long[] Shape, long DataOffset, long DataBytes, string Descr, string ShapeText);
