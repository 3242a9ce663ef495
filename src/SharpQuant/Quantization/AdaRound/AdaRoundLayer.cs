using SharpQuant.Autodiff;

namespace SharpQuant.Quantization.AdaRound;

/// <summary>
/// One layer AdaRound rounds: a Conv (grouped and depthwise included), Gemm or MatMul whose constant weight a weight
/// quantizer of the simulation reads, the activations that follow it in its unit (ReLU, LeakyReLU, Clip with
/// constant bounds, each the single reader of the one before), and the quantizer's fixed scale and zero point.
/// Builds the layer's reconstruction problem as a small ONNX graph.
/// </summary>
public sealed class AdaRoundLayer
{
    public const string Input = "adaround.x";
    public const string Target = "adaround.target";
    public const string V = "adaround.v";
    public const string Beta = "adaround.beta";
    public const string Lambda = "adaround.lambda";
    public const string Loss = "adaround.loss";
    public const string Reconstruction = "adaround.reconstruction";

    private AdaRoundLayer(Quantizer quantizer, Node node, IReadOnlyList<Node> activations)
    {
        Quantizer = quantizer;
        Node = node;
        Activations = activations;
    }

    public Quantizer Quantizer { get; }

    /// <summary>The Conv, Gemm or MatMul in the simulation graph.</summary>
    public Node Node { get; }

    /// <summary>The activation nodes after it that the reconstruction loss is taken after (possibly none).</summary>
    public IReadOnlyList<Node> Activations { get; }

    public string Name => Node.ModuleName;

    /// <summary>The value the layer reads (tapped for its inputs).</summary>
    public Value InputValue => Node.Input(0);

    /// <summary>The float weight constant the quantizer reads.</summary>
    public Tensor Weight => Quantizer.Input.ConstantValue!;

    /// <summary>The layers of a simulation AdaRound can round, in graph order, and the weight quantizers it cannot (with why).</summary>
    public static (List<AdaRoundLayer> Layers, List<string> Skipped) Find(QuantSim sim)
    {
        var layers = new List<AdaRoundLayer>();
        var skipped = new List<string>();
        var order = new Dictionary<Node, int>(ReferenceEqualityComparer.Instance);
        for (var i = 0; i < sim.Graph.Nodes.Count; i++)
        {
            order[sim.Graph.Nodes[i]] = i;
        }
        foreach (var q in sim.Quantizers.Where(q => q.Kind == QuantizerKind.Weight))
        {
            var uses = q.Node.Output.Uses;
            if (!q.FakeQuantEnabled || q.Input.ConstantValue is not { ElementType: ElementType.Float })
            {
                skipped.Add($"{q.Name}: fake quantization is off or the weight is not a float constant");
            }
            else if (uses.Count != 1 || uses[0].InputIndex != 1 || uses[0].Node.OpType is not ("Conv" or "Gemm" or "MatMul"))
            {
                skipped.Add($"{q.Name}: only Conv, Gemm and MatMul weights read by one layer are rounded");
            }
            else if (uses[0].Node.InputOrNull(2) is { IsConstant: false })
            {
                skipped.Add($"{q.Name}: the layer's bias is computed");
            }
            else
            {
                layers.Add(new AdaRoundLayer(q, uses[0].Node, UnitActivations(uses[0].Node)));
            }
        }
        layers.Sort((a, b) => order[a.Node].CompareTo(order[b.Node]));
        return (layers, skipped);
    }

    private static List<Node> UnitActivations(Node node)
    {
        var chain = new List<Node>();
        var end = node;
        while (end.Output.Uses.Count == 1 && !end.Output.IsGraphOutput && end.Output.Uses[0] is { InputIndex: 0, Node: var next } && IsActivation(next))
        {
            chain.Add(next);
            end = next;
        }
        return chain;
    }

    private static bool IsActivation(Node node) =>
        node.OpType is "Relu" or "LeakyRelu" || node.OpType == "Clip" && node.Inputs.Skip(1).All(i => i is null || i.IsConstant);

    /// <summary>
    /// ⌊W/s⌋ + z per weight (the integer below, on the quantizer's grid), the fraction W/s − ⌊W/s⌋, and whether the
    /// quantizer's own rounding (half to even) rounds it up: nearest rounding, exactly as the simulation does it.
    /// </summary>
    public (float[] Floor, float[] Fraction, bool[] Nearest) Grid()
    {
        var p = Quantizer.QParams;
        var w = Weight.ToArray<float>();
        var floor = new float[w.Length];
        var fraction = new float[w.Length];
        var nearest = new bool[w.Length];
        var channelOf = ChannelIndex();
        for (var i = 0; i < w.Length; i++)
        {
            var c = channelOf(i);
            var x = w[i] / p.Scale[c];
            var f = MathF.Floor(x);
            floor[i] = f + p.ZeroPoint[c];
            fraction[i] = Math.Clamp(x - f, 0f, 1f);
            nearest[i] = MathF.Round(x, MidpointRounding.ToEven) > f;
        }
        return (floor, fraction, nearest);
    }

    /// <summary>The integers ⌊W/s⌋ + z + up, clipped to [qmin, qmax] as the quantizer clips them.</summary>
    public int[] Integers(float[] floor, bool[] up)
    {
        var p = Quantizer.QParams;
        return floor.Select((f, i) => Math.Clamp((int)f + (up[i] ? 1 : 0), p.QMin, p.QMax)).ToArray();
    }

    /// <summary>
    /// The float weight s·(q − z) of those integers, scale fixed: the quantizer's nearest rounding of it gives q back
    /// exactly, so the simulation and the export both use the rounding AdaRound chose.
    /// </summary>
    public Tensor RoundedWeight(int[] integers)
    {
        var p = Quantizer.QParams;
        var channelOf = ChannelIndex();
        var data = new float[integers.Length];
        for (var i = 0; i < data.Length; i++)
        {
            var c = channelOf(i);
            data[i] = p.Scale[c] * (integers[i] - p.ZeroPoint[c]);
        }
        return Tensor.FromFloats(data, Weight.Shape.ToArray());
    }

    private Func<int, int> ChannelIndex()
    {
        var p = Quantizer.QParams;
        if (p.Axis is not { } axis)
        {
            return _ => 0;
        }
        var shape = Weight.Shape;
        long inner = 1;
        for (var d = axis + 1; d < shape.Count; d++)
        {
            inner *= shape[d];
        }
        var channels = shape[axis];
        return i => (int)(i / inner % channels);
    }

    /// <summary>The layer and its activations with the float weight: the reconstruction target f(W x).</summary>
    public Graph Reference(long[] inputRow)
    {
        var (graph, emit, x) = Start(inputRow);
        var y = Layer(graph, x, graph.AddConstant("adaround.weight", Weight.Clone()));
        graph.AddOutput(emit.Op("Identity", [y]));
        return graph;
    }

    /// <summary>
    /// The reconstruction problem: inputs x, the target f(W x), V (shaped like W), β and λ; the soft-quantized weight
    /// W̃ = s·(clip(⌊W/s⌋ + z + h(V), qmin, qmax) − z); outputs the loss
    /// mean over samples and positions of Σ_channels (f(W̃ x) − target)², plus λ·Σ (1 − |2h(V) − 1|^β), and the
    /// reconstruction term alone. The channel sum (AIMET's) keeps λ's meaning independent of the layer's width.
    /// </summary>
    public Graph Problem(long[] inputRow, long[] outputRow, float[] floor)
    {
        var (graph, emit, x) = Start(inputRow);
        var p = Quantizer.QParams;
        var shape = Weight.Shape.ToArray();
        var v = graph.AddInput(V, ElementType.Float, shape.Select(Dim.Of).ToArray());
        var beta = graph.AddInput(Beta, ElementType.Float, []);
        var lambda = graph.AddInput(Lambda, ElementType.Float, []);
        var broadcast = Enumerable.Repeat(1L, shape.Length).ToArray();
        if (p.Axis is { } axis)
        {
            broadcast[axis] = p.Count;
        }
        var scale = graph.AddConstant("adaround.scale", Tensor.FromFloats(p.Scale.ToArray(), broadcast));
        var zero = graph.AddConstant("adaround.zero_point", Tensor.FromFloats(p.ZeroPoint.Select(z => (float)z).ToArray(), broadcast));
        var below = graph.AddConstant("adaround.floor", Tensor.FromFloats(floor, shape));
        var h = RectifiedSigmoid.Emit(emit, v);
        var integer = emit.Op("Clip", [emit.Add(below, h), emit.Scalar(p.QMin), emit.Scalar(p.QMax)]);
        var soft = emit.Mul(emit.Sub(integer, zero), scale);
        var y = Layer(graph, x, soft);
        var target = graph.AddInput(Target, ElementType.Float, [Dim.Named("N"), .. outputRow.Select(Dim.Of)]);

        var error = emit.Sub(y, target);
        long channelAxis = Node.OpType == "Conv" ? 1 : -1;
        var perPosition = emit.ReduceSum(emit.Mul(error, error), [channelAxis], keepDims: false);
        var reconstruction = emit.Op("ReduceMean", [perPosition], ("keepdims", 0L));
        var regularizer = emit.Mul(RectifiedSigmoid.EmitRegularizer(emit, h, beta), lambda);
        var loss = emit.Add(reconstruction, regularizer);
        graph.RenameValue(loss, Loss);
        graph.RenameValue(reconstruction, Reconstruction);
        graph.AddOutput(loss);
        graph.AddOutput(reconstruction);
        return graph;
    }

    private static (Graph Graph, GraphEmitter Emit, Value X) Start(long[] inputRow)
    {
        var graph = new Graph();
        graph.Info.OnnxOpset = 13;
        var emit = new GraphEmitter(graph) { Scope = "adaround" };
        var x = graph.AddInput(Input, ElementType.Float, [Dim.Named("N"), .. inputRow.Select(Dim.Of)]);
        return (graph, emit, x);
    }

    /// <summary>Copies the layer (reading <paramref name="weight"/>) and its activations into <paramref name="graph"/>.</summary>
    private Value Layer(Graph graph, Value x, Value weight)
    {
        var inputs = new List<Value?> { x, weight };
        if (Node.InputOrNull(2) is { } bias)
        {
            inputs.Add(graph.AddConstant("adaround.bias", bias.ConstantValue!.Clone()));
        }
        var y = Copy(graph, Node, inputs);
        foreach (var activation in Activations)
        {
            var rest = activation.Inputs.Skip(1).Select(i => i is null ? null : graph.AddConstant("adaround.bound", i.ConstantValue!.Clone()));
            y = Copy(graph, activation, [y, .. rest]);
        }
        return y;
    }

    private static Value Copy(Graph graph, Node node, IEnumerable<Value?> inputs)
    {
        var copy = graph.AddNode(node.OpType, inputs, moduleName: node.ModuleName, attributes: node.Attributes, domain: node.Domain);
        copy.Output.ElementType = ElementType.Float;
        return copy.Output;
    }
}
