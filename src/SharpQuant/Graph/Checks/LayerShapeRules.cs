namespace SharpQuant.Checks;

/// <summary>
/// Shape rules for every op SharpQuant edits, checked on constants and on the shapes the file declares: a Conv weight
/// of rank 3 or more with no zero dimension, a group that divides the output channels and matches the input
/// channels, a bias of exactly one value per output channel, a kernel no larger than the padded input, BatchNorm
/// statistics of rank 1 with one value per channel, and Gemm/MatMul operands that fit together.
/// </summary>
internal static class LayerShapeRules
{
    public static void Check(NodeCheck check)
    {
        if (!check.Node.IsStandardOnnx)
        {
            return;
        }
        switch (check.Node.OpType)
        {
            case "Conv":
                CheckConv(check, transposed: false);
                break;
            case "ConvTranspose":
                CheckConv(check, transposed: true);
                break;
            case "BatchNormalization":
                CheckBatchNorm(check);
                break;
            case "Gemm":
                CheckGemm(check);
                break;
            case "MatMul":
                CheckMatMul(check);
                break;
        }
    }

    private static void CheckConv(NodeCheck check, bool transposed)
    {
        var node = check.Node;
        var w = check.KnownShape(1);
        if (w is null)
        {
            return;
        }
        if (w.Count < 3)
        {
            throw check.Fail($"weight '{node.Input(1).Name}' has shape {Shapes.Format(w)}; a {node.OpType} weight has rank 3 or more ([{(transposed ? "in, out/group" : "out, in/group")}, kernel...])");
        }
        if (w.Any(d => d == 0))
        {
            throw check.Fail($"weight '{node.Input(1).Name}' has shape {Shapes.Format(w)}, with a zero dimension");
        }
        var group = node.GetInt("group", 1);
        var outChannels = transposed ? w[1] * group : w[0];
        var inChannels = transposed ? w[0] : w[1] * group;
        var divided = w[0];
        if (divided % group != 0)
        {
            throw check.Fail($"group {group} does not divide the {divided} {(transposed ? "input" : "output")} channels of weight '{node.Input(1).Name}' {Shapes.Format(w)}");
        }
        var spatial = w.Count - 2;
        if (node.GetInts("kernel_shape") is { } kernel && !kernel.SequenceEqual(w.Skip(2)))
        {
            throw check.Fail($"attribute 'kernel_shape' [{string.Join(", ", kernel)}] does not match weight '{node.Input(1).Name}' {Shapes.Format(w)}");
        }
        CheckLength(check, "strides", spatial);
        CheckLength(check, "dilations", spatial);
        CheckLength(check, "pads", 2 * spatial);
        if (node.InputOrNull(2) is { } bias && NodeCheck.KnownShapeOf(bias) is { } b && (b.Count != 1 || b[0] != outChannels))
        {
            throw check.Fail($"bias '{bias.Name}' has shape {Shapes.Format(b)}; it must be [{outChannels}], one value per output channel");
        }
        var xText = Shapes.Format(node.Input(0).Shape);
        if ((check.Dims(0) is { Length: >= 2 } d && d[1] is { } declared ? declared : check.Channels?.Of(node.Input(0))) is { } c && c != inChannels)
        {
            throw check.Fail($"input '{node.Input(0).Name}' {xText} has {c} channels but weight '{node.Input(1).Name}' {Shapes.Format(w)} with group {group} reads {inChannels}");
        }
        if (check.Dims(0) is not { } x)
        {
            return;
        }
        if (x.Length != w.Count)
        {
            throw check.Fail($"input '{node.Input(0).Name}' has shape {xText} but weight '{node.Input(1).Name}' {Shapes.Format(w)} needs rank {w.Count}");
        }
        if (!transposed && node.GetString("auto_pad", "NOTSET") is "NOTSET" or "VALID")
        {
            var pads = node.GetString("auto_pad", "NOTSET") == "VALID" ? null : node.GetInts("pads");
            var dilations = node.GetInts("dilations");
            for (var i = 0; i < spatial; i++)
            {
                if (x[2 + i] is not { } size)
                {
                    continue;
                }
                var padded = size + (pads is null ? 0 : pads[i] + pads[i + spatial]);
                var extent = (w[2 + i] - 1) * (dilations?[i] ?? 1) + 1;
                if (extent > padded)
                {
                    throw check.Fail($"kernel {Shapes.Format(w.Skip(2).ToArray())} (dilated extent {extent}) is larger than the padded input size {padded} of '{node.Input(0).Name}' {xText}");
                }
            }
        }
    }

    private static void CheckLength(NodeCheck check, string attribute, int expected)
    {
        if (check.Node.GetInts(attribute) is { } values && values.Length != expected)
        {
            throw check.Fail($"attribute '{attribute}' has {values.Length} values; this {check.Node.OpType} needs {expected}");
        }
    }

    private static void CheckBatchNorm(NodeCheck check)
    {
        var node = check.Node;
        var channels = check.Channels?.Of(node.Input(0));
        // Before opset 9 a BatchNorm with spatial = 0 has statistics per activation, not per channel.
        var perChannel = check.Opset >= 9 || node.GetInt("spatial", 1) != 0;
        string[] roles = ["scale", "bias", "mean", "variance"];
        long? length = null;
        for (var i = 1; i <= 4; i++)
        {
            if (check.KnownShape(i) is not { } s || !perChannel)
            {
                continue;
            }
            var name = node.Input(i).Name;
            if (s.Count != 1)
            {
                throw check.Fail($"{roles[i - 1]} '{name}' has shape {Shapes.Format(s)}; BatchNormalization statistics have rank 1");
            }
            if (channels is { } c && s[0] != c)
            {
                throw check.Fail($"{roles[i - 1]} '{name}' has {s[0]} values but the input has {c} channels");
            }
            if (length is { } l && s[0] != l)
            {
                throw check.Fail($"{roles[i - 1]} '{name}' has {s[0]} values but the scale has {l}");
            }
            length ??= s[0];
        }
    }

    private static void CheckGemm(NodeCheck check)
    {
        var node = check.Node;
        var a = check.Dims(0);
        var b = check.Dims(1);
        foreach (var (index, dims) in new[] { (0, a), (1, b) })
        {
            if (dims is { Length: not 2 })
            {
                throw check.Fail($"input {index} '{node.Input(index).Name}' has shape {Shapes.Format(node.Input(index).Shape)}; Gemm multiplies matrices (rank 2)");
            }
        }
        if (a is null || b is null)
        {
            return;
        }
        var k1 = node.GetInt("transA", 0) == 1 ? a[0] : a[1];
        var k2 = node.GetInt("transB", 0) == 1 ? b[1] : b[0];
        if (k1 is { } m && k2 is { } n2 && m != n2)
        {
            throw check.Fail($"input '{node.Input(0).Name}' {Shapes.Format(node.Input(0).Shape)} and weight '{node.Input(1).Name}' {Shapes.Format(node.Input(1).Shape)} do not fit (inner sizes {m} and {n2})");
        }
        var n = node.GetInt("transB", 0) == 1 ? b[0] : b[1];
        if (n is { } outputs && node.InputOrNull(2) is { } c && NodeCheck.KnownShapeOf(c) is { } cs && (cs.Count > 2 || cs.Count > 0 && cs[^1] != 1 && cs[^1] != outputs))
        {
            throw check.Fail($"bias '{c.Name}' has shape {Shapes.Format(cs)}, which does not broadcast to the {outputs} outputs");
        }
    }

    private static void CheckMatMul(NodeCheck check)
    {
        var node = check.Node;
        foreach (var i in new[] { 0, 1 })
        {
            if (check.Dims(i) is { Length: 0 })
            {
                throw check.Fail($"input {i} '{node.Input(i).Name}' is a scalar; MatMul needs rank 1 or more");
            }
        }
        if (check.Dims(0) is { Length: >= 1 } a && check.Dims(1) is { Length: >= 1 } b
            && a[^1] is { } k1 && (b.Length == 1 ? b[0] : b[^2]) is { } k2 && k1 != k2)
        {
            throw check.Fail($"inputs '{node.Input(0).Name}' {Shapes.Format(node.Input(0).Shape)} and '{node.Input(1).Name}' {Shapes.Format(node.Input(1).Shape)} do not fit (inner sizes {k1} and {k2})");
        }
    }
}
