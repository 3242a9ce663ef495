namespace SharpQuant.Checks;

/// <summary>
/// The element types of the layers SharpQuant edits: Conv, ConvTranspose, Gemm, BatchNormalization and the pools
/// compute in floating point only, with one type for all their inputs. An int32 weight is refused by name here
/// instead of failing inside a pass ("tensor holds int32, not float32").
/// </summary>
internal static class ElementTypeRules
{
    public static void Check(NodeCheck check)
    {
        var node = check.Node;
        if (!node.IsStandardOnnx || node.OpType is not ("Conv" or "ConvTranspose" or "Gemm" or "BatchNormalization"
            or "MaxPool" or "AveragePool" or "GlobalAveragePool" or "GlobalMaxPool"))
        {
            return;
        }
        Value? first = null;
        var firstIndex = 0;
        for (var i = 0; i < node.Inputs.Count; i++)
        {
            if (node.Inputs[i] is not { ElementType: not ElementType.Undefined } input)
            {
                continue;
            }
            // MaxPool (opset 12+) also takes 8-bit integers.
            var integerPool = node.OpType == "MaxPool" && input.ElementType is ElementType.Int8 or ElementType.UInt8;
            if (!input.ElementType.IsFloatingPoint() && !integerPool)
            {
                throw check.Fail($"input {i} '{input.Name}' is {input.ElementType.DisplayName()}; {node.OpType} takes float16, float32, float64 or bfloat16");
            }
            // BatchNormalization (opset 15+) lets its statistics differ from the data; the others take one type.
            if (first is null)
            {
                first = input;
                firstIndex = i;
            }
            else if (input.ElementType != first.ElementType && node.OpType != "BatchNormalization")
            {
                throw check.Fail($"input {i} '{input.Name}' is {input.ElementType.DisplayName()} but input {firstIndex} '{first.Name}' is {first.ElementType.DisplayName()}");
            }
        }
    }
}
