namespace SharpQuant;

public sealed partial class Graph
{
    /// <summary>
    /// Takes as constants the graph inputs whose initializer default a layer reads as a parameter (a Conv, Gemm or
    /// MatMul weight or bias, BatchNorm or InstanceNorm statistics, a PRelu slope) and returns them. Exporters that
    /// keep initializers as inputs (PyTorch's keep_initializers_as_inputs, IR version 4 on) list every weight so;
    /// commands that fold, equalize or quantize edit exactly those tensors, which they can only do to constants.
    /// Other inputs with defaults (an [8] parameter vector, a position) stay inputs.
    /// </summary>
    public IReadOnlyList<Value> FreezeParameterDefaults()
    {
        var frozen = _inputs.Where(i => i.DefaultValue is not null && i.Uses.Any(IsParameterSlot)).ToList();
        foreach (var input in frozen)
        {
            _inputs.Remove(input);
            var tensor = input.DefaultValue!;
            input.DefaultValue = null;
            SetConstantValue(input, tensor);
        }
        if (frozen.Count > 0)
        {
            Touch();
        }
        return frozen;
    }

    private static bool IsParameterSlot(Use use) => use.Node.IsStandardOnnx && (use.Node.OpType, use.InputIndex) switch
    {
        ("Conv" or "ConvTranspose" or "Gemm", 1 or 2) => true,
        ("MatMul" or "PRelu", 1) => true,
        ("BatchNormalization", >= 1 and <= 4) => true,
        ("InstanceNormalization", 1 or 2) => true,
        _ => false,
    };
}
