using System.Globalization;

namespace SharpQuant.Checks;

/// <summary>
/// The parameters SharpQuant computes with must be numbers: a NaN or infinite weight or bias of a Conv, ConvTranspose,
/// Gemm or MatMul makes every pass produce NaN, and BatchNorm statistics must give a finite normalization
/// (finite scale, bias and mean; a variance that is finite and not negative; variance + ε above zero).
/// Each refusal names the tensor and the output channel.
/// </summary>
internal static class FiniteParameters
{
    public static void Check(NodeCheck check)
    {
        var node = check.Node;
        if (!node.IsStandardOnnx)
        {
            return;
        }
        switch (node.OpType)
        {
            case "Conv" or "ConvTranspose" or "Gemm" or "MatMul":
                CheckWeight(check);
                if (node.OpType != "MatMul")
                {
                    CheckVector(check, 2, "bias");
                }
                break;
            case "BatchNormalization":
                CheckBatchNorm(check);
                break;
        }
    }

    private static void CheckWeight(NodeCheck check)
    {
        if (check.Node.ConstantInput(1) is not { ElementType: ElementType.Float } w)
        {
            return;
        }
        var index = FirstNonFinite(w.Floats);
        if (index < 0)
        {
            return;
        }
        var where = OutputChannel(check.Node, w, index) is { } channel ? $"output channel {channel} (element {index})" : $"element {index}";
        throw check.Fail($"weight '{check.Node.Input(1).Name}' holds {Describe(w.Floats[index])} in {where}");
    }

    private static void CheckVector(NodeCheck check, int input, string role)
    {
        if (check.Node.ConstantInput(input) is not { ElementType: ElementType.Float } t)
        {
            return;
        }
        var index = FirstNonFinite(t.Floats);
        if (index >= 0)
        {
            throw check.Fail($"{role} '{check.Node.Input(input).Name}' holds {Describe(t.Floats[index])} in channel {index}");
        }
    }

    private static void CheckBatchNorm(NodeCheck check)
    {
        var node = check.Node;
        CheckVector(check, 1, "scale");
        CheckVector(check, 2, "bias");
        CheckVector(check, 3, "mean");
        var epsilon = node.GetFloat("epsilon", 1e-5f);
        if (!float.IsFinite(epsilon) || epsilon < 0)
        {
            throw check.Fail($"attribute 'epsilon' is {Describe(epsilon)}; it must be a finite number, not negative");
        }
        if (node.ConstantInput(4) is not { ElementType: ElementType.Float } variance)
        {
            return;
        }
        var name = node.Input(4).Name;
        var v = variance.Floats;
        for (var c = 0; c < v.Length; c++)
        {
            if (!float.IsFinite(v[c]) || v[c] < 0)
            {
                throw check.Fail($"variance '{name}' holds {Describe(v[c])} in channel {c}; a variance is finite and not negative");
            }
            if ((double)v[c] + epsilon <= 0)
            {
                throw check.Fail($"variance '{name}' is 0 in channel {c} and epsilon is {Describe(epsilon)}: the normalization divides by zero");
            }
        }
    }

    private static int FirstNonFinite(ReadOnlySpan<float> values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>The output channel element <paramref name="index"/> of a weight belongs to, in each op's layout.</summary>
    private static long? OutputChannel(Node node, Tensor w, long index)
    {
        var s = w.Shape;
        var perRow = s.Count > 0 && s[0] > 0 ? w.ElementCount / s[0] : 0;
        switch (node.OpType)
        {
            case "Conv" when s.Count >= 3:
                return index / perRow;
            case "ConvTranspose" when s.Count >= 3:
            {
                var kernel = perRow / s[1];
                var group = node.GetInt("group", 1);
                var input = index / perRow;
                return input / (s[0] / group) * s[1] + index / kernel % s[1];
            }
            case "Gemm" when s.Count == 2:
                return node.GetInt("transB", 0) == 1 ? index / s[1] : index % s[1];
            case "MatMul" when s.Count == 2:
                return index % s[1];
            default:
                return null;
        }
    }

    private static string Describe(float v) =>
        float.IsNaN(v) ? "NaN" : float.IsPositiveInfinity(v) ? "+Inf" : float.IsNegativeInfinity(v) ? "-Inf" : v.ToString("G6", CultureInfo.InvariantCulture);
}
