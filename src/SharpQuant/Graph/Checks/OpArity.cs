namespace SharpQuant.Checks;

/// <summary>
/// How many inputs and outputs the common CNN ops take (for the opsets SharpQuant reads), and which leading inputs
/// must be present. ONNX Runtime refuses a Conv with one input or four; SharpQuant used to write such files back.
/// Ops not listed are not counted.
/// </summary>
internal static class OpArity
{
    private const int Many = int.MaxValue;

    /// <param name="Required">Leading inputs that may not be omitted.</param>
    /// <param name="MaxInputs">Input slots the op has.</param>
    /// <param name="MaxOutputs">Output slots the op has.</param>
    private readonly record struct Arity(int Required, int MaxInputs, int MaxOutputs = 1);

    private static Arity? Of(string op, long opset) => op switch
    {
        "Conv" or "ConvTranspose" => new(2, 3),
        "Gemm" => new(opset < 11 ? 3 : 2, 3),
        "MatMul" or "Add" or "Sub" or "Mul" or "Div" or "PRelu" or "Reshape" or "Gather" => new(2, 2),
        "BatchNormalization" => new(5, 5, 5),
        "Relu" or "Sigmoid" or "Tanh" or "Identity" or "Flatten" or "Softmax" or "LogSoftmax" or "GlobalAveragePool"
            or "GlobalMaxPool" or "AveragePool" or "LeakyRelu" or "HardSwish" or "HardSigmoid" or "Transpose" or "Shape"
            or "Exp" or "Log" or "Sqrt" or "Abs" or "Neg" or "Elu" => new(1, 1),
        "MaxPool" => new(1, 1, 2),
        "Concat" or "Sum" or "Max" or "Min" or "Mean" => new(1, Many),
        "Dropout" => new(1, opset < 12 ? 1 : 3, 2),
        "Clip" => new(1, opset < 11 ? 1 : 3),
        "Resize" => new(1, 4),
        "Upsample" => new(1, 2),
        _ => null,
    };

    public static void Check(NodeCheck check)
    {
        var node = check.Node;
        if (!node.IsStandardOnnx || Of(node.OpType, check.Opset) is not { } arity)
        {
            return;
        }
        if (node.Inputs.Count > arity.MaxInputs)
        {
            throw check.Fail($"has {node.Inputs.Count} inputs; {node.OpType} takes at most {arity.MaxInputs}");
        }
        for (var i = 0; i < arity.Required; i++)
        {
            if (node.InputOrNull(i) is null)
            {
                throw check.Fail(i < node.Inputs.Count
                    ? $"input {i} is omitted (an empty name), but {node.OpType} requires it"
                    : $"has {node.Inputs.Count} inputs; {node.OpType} requires {arity.Required}");
            }
        }
        if (node.Outputs.Count == 0 || node.Outputs.Count > arity.MaxOutputs)
        {
            throw check.Fail($"has {node.Outputs.Count} outputs; {node.OpType} has {(arity.MaxOutputs == 1 ? "one" : $"1 to {arity.MaxOutputs}")}");
        }
    }
}
