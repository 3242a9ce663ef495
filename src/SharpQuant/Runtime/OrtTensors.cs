using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace SharpQuant.Runtime;

/// <summary>
/// Moves tensors between the IR and ONNX Runtime. Inputs are passed without a copy: the tensor's buffer is
/// pinned for the duration of the run and wrapped by an OrtValue.
/// </summary>
internal sealed class PinnedOrtValue : IDisposable
{
    private GCHandle _handle;

    public PinnedOrtValue(Tensor tensor)
    {
        _handle = GCHandle.Alloc(tensor.RawBuffer, GCHandleType.Pinned);
        Value = OrtValue.CreateTensorValueWithData(
            OrtMemoryInfo.DefaultInstance,
            (TensorElementType)(int)tensor.ElementType,
            tensor.Shape.ToArray(),
            _handle.AddrOfPinnedObject(),
            tensor.ByteCount);
    }

    public OrtValue Value { get; }

    public void Dispose()
    {
        Value.Dispose();
        if (_handle.IsAllocated)
        {
            _handle.Free();
        }
    }
}

internal static class OrtTensors
{
    /// <summary>Copies an ONNX Runtime output into an IR tensor.</summary>
    public static Tensor ToTensor(OrtValue value, string name, TensorBuffers? reuse)
    {
        var info = value.GetTensorTypeAndShape();
        var type = (ElementType)(int)info.ElementDataType;
        var source = value.GetTensorMutableRawData();
        if (reuse is null)
        {
            return new Tensor(type, info.Shape, source.ToArray());
        }
        var buffer = reuse.For(name, source.Length);
        source.CopyTo(buffer);
        return new Tensor(type, info.Shape, buffer);
    }
}
