using SharpQuant.Onnx;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Onnx;

/// <summary>Issue 16, item 11: tensors that declare more bytes than they hold, or more than an array can hold.</summary>
public class HostileTensorTests
{
    [Theory]
    [InlineData(new long[] { 1L << 29, 4 }, "declares 8589934592 bytes")]            // 2^31 floats, no data
    [InlineData(new long[] { 1L << 31 }, "declares 8589934592 bytes")]
    [InlineData(new long[] { 536870912 }, "declares 2147483648 bytes")]              // exactly 2^31 bytes
    [InlineData(new long[] { 1L << 40, 1L << 40 }, "impossible shape")]             // the element count overflows
    [InlineData(new long[] { 1L << 31, 1L << 31 }, "declares 4611686018427387904 elements of 4 bytes")]
    public void HugeDeclaredTensorWithoutDataIsRefused(long[] dims, string expected)
    {
        var model = ProtoModels.AddRelu();
        var c = model.Initializer("c");
        c.FloatData.Clear();
        c.Dims.Clear();
        c.Dims.AddRange(dims);
        var e = Assert.Throws<InvalidModelException>(() => OnnxModel.Load(model.Bytes()));
        Assert.Contains("tensor 'c'", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData(100_000_000L)]    // 400 MB declared, four values given: refused before anything is allocated
    [InlineData(1L << 28)]
    public void HugeDimsWithAFewFloatsAreRefused(long size)
    {
        var model = ProtoModels.AddRelu();
        var c = model.Initializer("c");
        c.Dims.Clear();
        c.Dims.Add(size);
        var e = Assert.Throws<InvalidModelException>(() => OnnxModel.Load(model.Bytes()));
        Assert.Contains($"tensor 'c' of shape [{size}] should hold {size} elements but holds 4", e.Message);
    }

    [Fact]
    public void HugeDimsInRawDataAreRefused()
    {
        var model = ProtoModels.AddRelu();
        var c = model.Initializer("c");
        c.FloatData.Clear();
        c.RawData = Google.Protobuf.ByteString.CopyFrom(new byte[16]);
        c.Dims.Clear();
        c.Dims.Add(1L << 33);
        var e = Assert.Throws<InvalidModelException>(() => OnnxModel.Load(model.Bytes()));
        Assert.Contains("tensor 'c'", e.Message);
        Assert.Contains("declares 34359738368 bytes", e.Message);
    }

    [Fact]
    public void HugeTensorIsExitTwoInTheCli()
    {
        var model = HostileModels.ConvPair();
        var w = model.Initializer("c2.w");
        w.FloatData.Clear();
        w.Dims[0] = 1L << 40;
        HostileModels.AssertRefused(model, ["fold"], "tensor 'c2.w'", "declares");
    }
}
