using System.Runtime.InteropServices;
using Google.Protobuf;
using Proto = global::Onnx;

namespace SharpQuant.Tests.Support;

/// <summary>The small AddRelu model with its constant stored in a file beside it, for tests of external data.</summary>
public static class ExternalDataModels
{
    public static readonly float[] Constant = [5f, 6f, 7f, 8f];

    /// <summary>The model whose constant 'c' (four floats) is read from <paramref name="location"/>.</summary>
    public static Proto.ModelProto WithExternalConstant(string location)
    {
        var model = ProtoModels.AddRelu();
        var c = model.Graph.Initializer[0];
        c.FloatData.Clear();
        c.DataLocation = Proto.TensorProto.Types.DataLocation.External;
        c.ExternalData.Add(new Proto.StringStringEntryProto { Key = "location", Value = location });
        return model;
    }

    /// <summary>Writes the model to <paramref name="modelPath"/> and, unless null, the constant's bytes to <paramref name="dataPath"/>.</summary>
    public static string Write(string modelPath, string location, string? dataPath)
    {
        File.WriteAllBytes(modelPath, WithExternalConstant(location).ToByteArray());
        if (dataPath is not null)
        {
            File.WriteAllBytes(dataPath, MemoryMarshal.AsBytes(Constant.AsSpan()).ToArray());
        }
        return modelPath;
    }
}
