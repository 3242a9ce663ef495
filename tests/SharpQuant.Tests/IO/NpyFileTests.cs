using System.Text;
using SharpQuant.IO;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.IO;

public class NpyFileTests
{
    /// <summary>The bytes numpy 1.24's np.save writes for an array: header padded to 128 bytes, then the data.</summary>
    private static byte[] NumpyBytes(string header, byte[] data)
    {
        var padded = header + new string(' ', 128 - 10 - header.Length - 1) + "\n";
        return [0x93, .. "NUMPY"u8, 1, 0, (byte)padded.Length, 0, .. Encoding.ASCII.GetBytes(padded), .. data];
    }

    [Fact]
    public void ReadsWhatNumpyWrites()
    {
        var floats = new float[] { 0, 1, 2, 3, 4, 5 };
        var bytes = NumpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", [.. floats.SelectMany(BitConverter.GetBytes)]);
        var tensor = NpyFile.FromBytes(bytes);
        Assert.Equal(ElementType.Float, tensor.ElementType);
        Assert.Equal([2L, 3L], tensor.Shape);
        Assert.Equal(floats, tensor.ToArray<float>());

        var longs = NpyFile.FromBytes(NumpyBytes("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", [.. new long[] { 1, -2, 3 }.SelectMany(BitConverter.GetBytes)]));
        Assert.Equal([3L], longs.Shape);
        Assert.Equal([1L, -2L, 3L], longs.ToArray<long>());
    }

    [Fact]
    public void WritesAnAlignedHeaderThatReadsBack()
    {
        using var temp = TestData.NewTempFolder();
        var path = temp.File("x.npy");
        var original = Tensor.FromFloats([1.5f, -2f, 3.25f, 0f, 7f, 8f, 9f, 10f], 2, 2, 2);
        NpyFile.Write(path, original);
        var bytes = File.ReadAllBytes(path);
        var headerLength = BitConverter.ToUInt16(bytes, 8);
        Assert.Equal("\u0093NUMPY", Encoding.Latin1.GetString(bytes, 0, 6));
        Assert.Equal(0, (10 + headerLength) % 64);
        Assert.Equal("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, 2), }", Encoding.ASCII.GetString(bytes, 10, headerLength).TrimEnd());
        var read = NpyFile.Read(path);
        Assert.Equal(original.Shape, read.Shape);
        Assert.Equal(original.ToArray<float>(), read.ToArray<float>());
        Assert.Equal([3L], NpyFile.FromBytes(NpyFile.ToBytes(Tensor.Create(new long[] { 4, 5, 6 }, 3))).Shape);
    }

    [Theory]
    [InlineData("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", "unsupported .npy dtype '>f4'")]
    [InlineData("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", "only C-order")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", "needs 12")]
    public void RefusesWhatItCannotRead(string header, string message)
    {
        var bytes = NumpyBytes(header, new byte[8]);
        var e = Assert.Throws<SharpQuantException>(() => NpyFile.FromBytes(bytes));
        Assert.Contains(message, e.Message);
        Assert.Contains("not a .npy file", Assert.Throws<SharpQuantException>(() => NpyFile.FromBytes("PK\u0003\u0004 not numpy"u8.ToArray())).Message);
    }

    [Fact]
    public void TheHeaderAloneGivesTypeAndShapeAndChecksTheFileLength()
    {
        using var temp = TestData.NewTempFolder();
        var path = temp.File("x.npy");
        NpyFile.Write(path, Tensor.Create(new long[] { 1, 2, 3, 4, 5, 6 }, 2, 3));
        var header = NpyFile.ReadHeader(path);
        Assert.Equal(ElementType.Int64, header.Type);
        Assert.Equal(new long[] { 2, 3 }, header.Shape);
        Assert.Equal(48, header.DataBytes);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^8]);
        Assert.Contains("holds 40 bytes", Assert.Throws<SharpQuantException>(() => NpyFile.ReadHeader(path)).Message);
        File.WriteAllBytes(path, bytes[..20]);
        Assert.Contains("truncated .npy header", Assert.Throws<SharpQuantException>(() => NpyFile.ReadHeader(path)).Message);
    }
}
