namespace SharpQuant.Quantization;

/// <summary>
/// The IR op <c>sharpquant.FakeQuant(x, scale, zero_point)</c> with attributes qmin, qmax, axis (−1 per tensor)
/// and enabled (0 makes it the identity). Scale and zero point are float32 constants of shape [1] or [channels];
/// zero points are whole numbers stored as floats so the lowered arithmetic stays in float32.
/// </summary>
public static class FakeQuantOp
{
    public const string OpType = "FakeQuant";
    public const string Domain = OnnxOps.SharpQuantDomain;

    public static bool Is(Node node) => node.OpType == OpType && node.Domain == Domain;

    public static Node Insert(Graph graph, Value input, QParams qparams, string name, Node? after)
    {
        var scale = graph.AddConstant(name + ".scale", Tensor.FromFloats(qparams.Scale, qparams.Count));
        var zero = graph.AddConstant(name + ".zero_point", Tensor.FromFloats(qparams.ZeroPoint.Select(z => (float)z).ToArray(), qparams.Count));
        var node = graph.AddNode(OpType, [input, scale, zero], moduleName: name, domain: Domain, after: after,
            attributes: new Dictionary<string, AttributeValue>
            {
                ["qmin"] = AttributeValue.Of((long)qparams.QMin),
                ["qmax"] = AttributeValue.Of((long)qparams.QMax),
                ["axis"] = AttributeValue.Of((long)(qparams.Axis ?? -1)),
                ["enabled"] = AttributeValue.Of(1L),
            });
        node.Output.ElementType = input.ElementType;
        node.Output.Shape = input.Shape;
        return node;
    }

    public static QParams Read(Node node)
    {
        var axis = (int)node.GetInt("axis", -1);
        return new QParams(
            node.ConstantInput(1)!.ToArray<float>(),
            node.ConstantInput(2)!.ToArray<float>().Select(z => (int)z).ToArray(),
            axis < 0 ? null : axis,
            (int)node.GetInt("qmin", 0),
            (int)node.GetInt("qmax", 255));
    }

    public static void Write(Node node, QParams qparams)
    {
        var graph = node.Owner;
        graph.SetConstantValue(node.Input(1), Tensor.FromFloats(qparams.Scale, qparams.Count));
        graph.SetConstantValue(node.Input(2), Tensor.FromFloats(qparams.ZeroPoint.Select(z => (float)z).ToArray(), qparams.Count));
    }

    /// <summary>Removes a (disabled) FakeQuant, its readers reading its input; a graph output keeps its name through an Identity.</summary>
    public static void Bypass(Graph graph, Node fq)
    {
        var x = fq.Input(0);
        if (fq.Output.IsGraphOutput && (x.IsGraphInput || x.IsConstant))
        {
            var identity = graph.AddNode("Identity", [x], moduleName: fq.ModuleName + ".identity", after: fq);
            identity.Output.ElementType = x.ElementType;
            graph.ReplaceAllUsesWith(fq.Output, identity.Output);
        }
        else
        {
            graph.ReplaceAllUsesWith(fq.Output, x);
        }
        graph.RemoveNode(fq);
    }

    public static bool IsEnabled(Node node) => node.GetInt("enabled", 1) != 0;

    public static void SetEnabled(Node node, bool enabled) => node.SetAttribute("enabled", AttributeValue.Of(enabled ? 1L : 0L));
}
