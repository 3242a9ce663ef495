using SharpQuant.Quantization;

namespace SharpQuant.Autodiff;

/// <summary>
/// A FakeQuant lowered inside the gradient graph, with the intermediate values its backward rule reads.
/// Unlike <see cref="FakeQuantLowering"/>, scale and zero point stay values (they may be fed every run as
/// parameters) and weights are not folded, so gradients can reach both.
/// The chain is x̂ = (Clip(Round(x / s) + z, qmin, qmax) − z) · s with x/s = <see cref="Scaled"/>,
/// Round(x/s) + z = <see cref="Unclamped"/>, Clip(..) − z = <see cref="Centered"/>.
/// </summary>
internal sealed record FakeQuantUnit(
    string Name,
    Value Input,
    Value Scale,
    Value ZeroPoint,
    Value ScaleBroadcast,
    Value ZeroPointBroadcast,
    Value Scaled,
    Value Unclamped,
    Value Centered,
    Value Output,
    int QMin,
    int QMax,
    int? Axis,
    bool GradientScaled)
{
    /// <summary>The nodes of the chain; the backward pass treats them as one op.</summary>
    public required IReadOnlyList<Node> Nodes { get; init; }

    /// <summary>
    /// Replaces <paramref name="fq"/> by its elementwise chain (or by an Identity when disabled, returning null);
    /// the quantized value keeps the FakeQuant's output name.
    /// </summary>
    public static FakeQuantUnit? Lower(Graph graph, Node fq, bool gradientScaled)
    {
        var x = fq.Input(0);
        var name = fq.Output.Name;
        var wasOutput = fq.Output.IsGraphOutput;
        var prefix = fq.ModuleName;
        if (!FakeQuantOp.IsEnabled(fq))
        {
            var identity = graph.AddNode("Identity", [x], moduleName: prefix + ".identity", after: fq);
            identity.Output.ElementType = x.ElementType;
            Replace(graph, fq, identity.Output, name, wasOutput);
            return null;
        }
        var s = fq.Input(1);
        var z = fq.Input(2);
        var qmin = (int)fq.GetInt("qmin", 0);
        var qmax = (int)fq.GetInt("qmax", 255);
        var axisAttr = (int)fq.GetInt("axis", -1);
        int? axis = null;
        Value sB = s, zB = z;
        var nodes = new List<Node>();
        Node after = fq;
        if (axisAttr >= 0)
        {
            var rank = x.Shape?.Count ?? x.ConstantValue?.Rank
                ?? throw new SharpQuantException($"per-channel quantizer '{prefix}' needs the rank of its input");
            axis = axisAttr;
            var shape = Enumerable.Repeat(1L, rank - axisAttr).ToArray();
            shape[0] = -1;
            var shapeConst = graph.AddConstant(prefix + ".broadcast_shape", Tensor.Create(shape, shape.Length));
            var rs = graph.AddNode("Reshape", [s, shapeConst], moduleName: prefix + ".scale_broadcast", after: after);
            var rz = graph.AddNode("Reshape", [z, shapeConst], moduleName: prefix + ".zero_point_broadcast", after: rs);
            nodes.Add(rs);
            nodes.Add(rz);
            after = rz;
            sB = rs.Output;
            zB = rz.Output;
        }
        var qminC = graph.AddConstant(prefix + ".qmin", Tensor.Create(new[] { (float)qmin }));
        var qmaxC = graph.AddConstant(prefix + ".qmax", Tensor.Create(new[] { (float)qmax }));
        var div = graph.AddNode("Div", [x, sB], moduleName: prefix + ".div", after: after);
        var round = graph.AddNode("Round", [div.Output], moduleName: prefix + ".round", after: div);
        var add = graph.AddNode("Add", [round.Output, zB], moduleName: prefix + ".add_zp", after: round);
        var clip = graph.AddNode("Clip", [add.Output, qminC, qmaxC], moduleName: prefix + ".clip", after: add);
        var sub = graph.AddNode("Sub", [clip.Output, zB], moduleName: prefix + ".sub_zp", after: clip);
        var mul = graph.AddNode("Mul", [sub.Output, sB], moduleName: prefix + ".mul", after: sub);
        nodes.AddRange([div, round, add, clip, sub, mul]);
        foreach (var n in nodes)
        {
            n.Output.ElementType = ElementType.Float;
        }
        Replace(graph, fq, mul.Output, name, wasOutput);
        return new FakeQuantUnit(prefix, x, s, z, sB, zB, div.Output, add.Output, sub.Output, mul.Output, qmin, qmax, axis, gradientScaled)
        {
            Nodes = nodes,
        };
    }

    private static void Replace(Graph graph, Node fq, Value replacement, string name, bool wasOutput)
    {
        graph.ReplaceAllUsesWith(fq.Output, replacement);
        graph.RemoveNode(fq);
        if (!wasOutput)
        {
            graph.RenameValue(replacement, name);
        }
    }
}
