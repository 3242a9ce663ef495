using System.Collections.Frozen;

namespace SharpQuant.Checks;

/// <summary>
/// The kinds ONNX gives the attributes of the ops SharpQuant edits or commonly meets, and the ranges it allows for
/// the ones the passes compute with. A file that stores <c>group</c> as ints or a float, or a group of 0, is refused
/// here with the node's name rather than failing later inside a pass. Attributes not listed are left alone.
/// </summary>
internal static class AttributeRules
{
    private const AttributeKind I = AttributeKind.Int;
    private const AttributeKind F = AttributeKind.Float;
    private const AttributeKind S = AttributeKind.String;
    private const AttributeKind Is = AttributeKind.Ints;
    private const AttributeKind Fs = AttributeKind.Floats;

    private static readonly Dictionary<string, AttributeKind> ConvAttributes = new()
    {
        ["auto_pad"] = S, ["dilations"] = Is, ["group"] = I, ["kernel_shape"] = Is, ["pads"] = Is, ["strides"] = Is,
    };

    private static readonly FrozenDictionary<string, Dictionary<string, AttributeKind>> Kinds = new Dictionary<string, Dictionary<string, AttributeKind>>
    {
        ["Conv"] = ConvAttributes,
        ["ConvTranspose"] = new(ConvAttributes) { ["output_padding"] = Is, ["output_shape"] = Is },
        ["BatchNormalization"] = new() { ["epsilon"] = F, ["momentum"] = F, ["spatial"] = I, ["training_mode"] = I, ["is_test"] = I },
        ["Gemm"] = new() { ["alpha"] = F, ["beta"] = F, ["transA"] = I, ["transB"] = I, ["broadcast"] = I },
        ["MaxPool"] = new() { ["auto_pad"] = S, ["ceil_mode"] = I, ["dilations"] = Is, ["kernel_shape"] = Is, ["pads"] = Is, ["storage_order"] = I, ["strides"] = Is },
        ["AveragePool"] = new() { ["auto_pad"] = S, ["ceil_mode"] = I, ["count_include_pad"] = I, ["dilations"] = Is, ["kernel_shape"] = Is, ["pads"] = Is, ["strides"] = Is },
        ["Flatten"] = new() { ["axis"] = I },
        ["Softmax"] = new() { ["axis"] = I },
        ["LogSoftmax"] = new() { ["axis"] = I },
        ["Concat"] = new() { ["axis"] = I },
        ["LeakyRelu"] = new() { ["alpha"] = F },
        ["Elu"] = new() { ["alpha"] = F },
        ["HardSigmoid"] = new() { ["alpha"] = F, ["beta"] = F },
        ["Clip"] = new() { ["min"] = F, ["max"] = F },
        ["Transpose"] = new() { ["perm"] = Is },
        ["Reshape"] = new() { ["allowzero"] = I },
        ["Gather"] = new() { ["axis"] = I },
        ["Cast"] = new() { ["to"] = I },
        ["Resize"] = new() { ["mode"] = S, ["coordinate_transformation_mode"] = S, ["nearest_mode"] = S, ["cubic_coeff_a"] = F, ["exclude_outside"] = I },
        ["Upsample"] = new() { ["mode"] = S, ["scales"] = Fs },
        ["Dropout"] = new() { ["ratio"] = F, ["seed"] = I },
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static void Check(NodeCheck check)
    {
        var node = check.Node;
        if (!node.IsStandardOnnx || !Kinds.TryGetValue(node.OpType, out var kinds))
        {
            return;
        }
        foreach (var (name, value) in node.Attributes)
        {
            if (kinds.TryGetValue(name, out var kind) && value.Kind != kind)
            {
                throw check.Fail($"attribute '{name}' must be {Describe(kind)}, got {Describe(value.Kind)}");
            }
        }
        switch (node.OpType)
        {
            case "Conv" or "ConvTranspose":
                CheckConvolution(check);
                break;
            case "MaxPool" or "AveragePool":
                CheckWindow(check, "kernel_shape", minimum: 1);
                CheckWindow(check, "strides", minimum: 1);
                CheckWindow(check, "dilations", minimum: 1);
                CheckWindow(check, "pads", minimum: 0);
                break;
            case "Gemm":
                CheckFlag(check, "transA");
                CheckFlag(check, "transB");
                break;
        }
    }

    private static void CheckConvolution(NodeCheck check)
    {
        var group = check.Node.GetInt("group", 1);
        if (group < 1 || group > int.MaxValue)
        {
            throw check.Fail($"attribute 'group' must be a positive int32, got {group}");
        }
        CheckWindow(check, "kernel_shape", minimum: 1);
        CheckWindow(check, "strides", minimum: 1);
        CheckWindow(check, "dilations", minimum: 1);
        CheckWindow(check, "pads", minimum: 0);
        if (check.Node.OpType == "ConvTranspose")
        {
            CheckWindow(check, "output_padding", minimum: 0);
        }
        var autoPad = check.Node.GetString("auto_pad", "NOTSET");
        if (autoPad is not ("NOTSET" or "SAME_UPPER" or "SAME_LOWER" or "VALID"))
        {
            throw check.Fail($"attribute 'auto_pad' must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, got '{autoPad}'");
        }
    }

    // Sizes far beyond any tensor: a window of 2^40 is a hostile file, and int arithmetic in passes would overflow.
    private const long MaxWindowValue = int.MaxValue;

    private static void CheckWindow(NodeCheck check, string name, long minimum)
    {
        if (check.Node.GetInts(name) is not { } values)
        {
            return;
        }
        foreach (var v in values)
        {
            if (v < minimum || v > MaxWindowValue)
            {
                throw check.Fail($"attribute '{name}' {Format(values)} has {v}; each value must be {(minimum == 0 ? "non-negative" : "positive")} and below 2^31");
            }
        }
    }

    private static void CheckFlag(NodeCheck check, string name)
    {
        var v = check.Node.GetInt(name, 0);
        if (v is not (0 or 1))
        {
            throw check.Fail($"attribute '{name}' must be 0 or 1, got {v}");
        }
    }

    private static string Format(long[] values) => "[" + string.Join(", ", values) + "]";

    private static string Describe(AttributeKind kind) => kind switch
    {
        AttributeKind.Int => "an int",
        AttributeKind.Float => "a float",
        AttributeKind.String => "a string",
        AttributeKind.Tensor => "a tensor",
        AttributeKind.Graph => "a graph",
        _ => kind.ToString().ToLowerInvariant(),
    };
}
