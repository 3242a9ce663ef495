using SharpQuant.Onnx;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Onnx;

/// <summary>Listing the files a model load reads, without parsing models that name no external data.</summary>
public class ModelFilesTests
{
    [Theory]
    [InlineData(-1, false)]
    [InlineData(0, true)]
    [InlineData((1 << 20) - 3, true)]
    [InlineData((1 << 20) + 5, true)]
    [InlineData(3 << 20, true)]
    public void TheLocationKeyIsFoundWhereverItLies(int offset, bool expected)
    {
        var bytes = new byte[(3 << 20) + 8];
        if (offset >= 0)
        {
            "location"u8.CopyTo(bytes.AsSpan(offset));
        }
        Assert.Equal(expected, ModelFiles.MayNameExternalData(new MemoryStream(bytes)));
    }

    [Fact]
    public void AModelWithoutExternalDataIsItsOnlyFile()
    {
        Assert.Equal([TestModels.ResNet18Path], OnnxModel.FilesRead(TestModels.ResNet18Path));
        using var temp = TestData.NewTempFolder();
        var model = ExternalDataModels.Write(temp.File("model.onnx"), "weights.bin", dataPath: null);
        Assert.Contains("'weights.bin', which does not exist", Assert.Throws<ExternalDataException>(() => OnnxModel.FilesRead(model)).Message);
    }
}
