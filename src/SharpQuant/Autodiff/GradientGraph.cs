using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Runtime;

namespace SharpQuant.Autodiff;

/// <summary>
/// One graph of standard ONNX ops that computes the forward values and the requested gradients
/// (reverse-mode differentiation written out as nodes, FakeQuant lowered with its LSQ rule). Built once, run
/// many times by a <see cref="GradientRunner"/>. Constants named in the request become graph inputs
/// (<see cref="ParameterInputs"/>) so new weights or quantizer parameters can be fed every run, unless
/// <see cref="GradientRequest.KeepConstants"/> keeps them constants.
/// </summary>
public sealed class GradientGraph
{
    /// <summary>
    /// ScatterElements with reduction add (the MaxPool and Resize rules) needs opset 16. From 13 to 16 no op the
    /// forward graphs use changed its inference meaning, so a graph raised to 13 is relabelled 16.
    /// </summary>
    public const long Opset = 16;

    /// <summary>Opset 16 needs IR version 8.</summary>
    private const long MinimumIrVersion = 8;

    private readonly Dictionary<string, string> _gradientNames;
    private readonly Dictionary<string, Tensor> _parameterDefaults;

    private GradientGraph(Graph graph, GradientRequest request, Dictionary<string, string> gradientNames, Dictionary<string, Tensor> parameterDefaults, IReadOnlyList<string> forwardInputs)
    {
        Graph = graph;
        Request = request;
        _gradientNames = gradientNames;
        _parameterDefaults = parameterDefaults;
        ForwardInputs = forwardInputs;
    }

    public Graph Graph { get; }
    public GradientRequest Request { get; }

    /// <summary>Inputs a run must be given: the forward graph's inputs (and any extra inputs the loss reads).</summary>
    public IReadOnlyList<string> ForwardInputs { get; }

    /// <summary>Constants named in the request, turned into graph inputs (same names); a run may feed new values.</summary>
    public IReadOnlyList<string> ParameterInputs => _parameterDefaults.Keys.ToArray();

    /// <summary>The value a parameter takes when a run does not feed it: the constant's value when the graph was built.</summary>
    public Tensor DefaultValue(string parameter) =>
        _parameterDefaults.TryGetValue(parameter, out var t) ? t : throw new KeyNotFoundException($"'{parameter}' is not a parameter input of this gradient graph");

    /// <summary>The output holding d(loss)/d(<paramref name="value"/>), same shape as the value.</summary>
    public string GradientOf(string value) =>
        _gradientNames.TryGetValue(value, out var name) ? name : throw new KeyNotFoundException($"no gradient was requested for '{value}'");

    public static GradientGraph Build(Graph forward, GradientRequest request)
    {
        ArgumentNullException.ThrowIfNull(forward);
        ArgumentNullException.ThrowIfNull(request);
        forward.Validate();
        var graph = forward.Clone();
        OpsetUpgrade.RaiseTo(graph, FakeQuantLowering.MinimumOpset);
        if (graph.Info.OnnxOpset < Opset)
        {
            graph.Info.OnnxOpset = Opset;
        }
        graph.Info.IrVersion = Math.Max(graph.Info.IrVersion, MinimumIrVersion);

        var target = graph.FindValue(request.Target) ?? throw new SharpQuantException($"the graph has no value named '{request.Target}' to differentiate");
        var wrt = request.WithRespectTo
            .Select(n => graph.FindValue(n) ?? throw new SharpQuantException($"cannot differentiate with respect to '{n}': the graph has no such value"))
            .ToList();
        var parameterDefaults = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (var i = 0; i < wrt.Count; i++)
        {
            if (!request.KeepConstants && wrt[i].ConstantValue is { } constant)
            {
                wrt[i] = Parameterize(graph, wrt[i]);
                parameterDefaults[wrt[i].Name] = constant;
            }
        }
        var forwardInputs = graph.Inputs.Select(v => v.Name).Where(n => !parameterDefaults.ContainsKey(n)).ToArray();

        var units = new Dictionary<Node, FakeQuantUnit>(ReferenceEqualityComparer.Instance);
        var chainNodes = new HashSet<Node>(ReferenceEqualityComparer.Instance);
        foreach (var fq in graph.Nodes.Where(FakeQuantOp.Is).ToList())
        {
            if (FakeQuantUnit.Lower(graph, fq, request.IsGradientScaled(fq.ModuleName)) is { } unit)
            {
                units[unit.Output.Producer!] = unit;
                chainNodes.UnionWith(unit.Nodes);
            }
        }
        OnnxOps.RequireKnown(graph, "cannot build the gradient graph");
        InferShapes(graph, request, forwardInputs);

        target = graph.GetValue(request.Target);
        wrt = request.WithRespectTo.Select(graph.GetValue).ToList();
        var backward = new BackwardPass(graph, units, chainNodes);
        var gradients = backward.Run(target, request.Seed, wrt);

        var gradientNames = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!target.IsGraphOutput)
        {
            graph.AddOutput(target);
        }
        var emit = new GraphEmitter(graph) { Scope = "grad/outputs" };
        for (var i = 0; i < wrt.Count; i++)
        {
            // An Identity gives every gradient an output of its own, even when two requested values share one.
            var named = emit.Op("Identity", [gradients[i]]);
            var name = graph.UniqueName(wrt[i].Name + "_grad");
            graph.RenameValue(named, name);
            named.Shape = wrt[i].Shape;
            graph.AddOutput(named);
            gradientNames[request.WithRespectTo[i]] = name;
        }
        graph.RemoveUnused();
        graph.Validate();
        return new GradientGraph(graph, request, gradientNames, parameterDefaults, forwardInputs);
    }

    /// <summary>Replaces a constant by a graph input of the same name and shape (the constant's value is the default).</summary>
    private static Value Parameterize(Graph graph, Value constant)
    {
        var name = constant.Name;
        var tensor = constant.ConstantValue!;
        graph.RenameValue(constant, graph.UniqueName(name + "_constant"));
        var input = graph.AddInput(name, tensor.ElementType, tensor.Shape.Select(Dim.Of).ToArray());
        graph.ReplaceAllUsesWith(constant, input);
        return input;
    }

    /// <summary>
    /// Records every value's element type and shape (<see cref="ShapeInference"/>: C# shape rules, ONNX Runtime only
    /// for an op they do not cover); the rules need ranks, broadcast axes and static spatial sizes. Inputs whose non-batch dimensions are symbolic
    /// must be given concrete shapes in the request, and keep them in the built graph.
    /// </summary>
    private static void InferShapes(Graph graph, GradientRequest request, IReadOnlyList<string> forwardInputs)
    {
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var name in forwardInputs)
        {
            var input = graph.GetValue(name);
            if (request.InputShapes.TryGetValue(name, out var given))
            {
                if (input.Shape is { } declared && (declared.Count != given.Length || declared.Where((d, i) => d.Size is { } s && s != given[i]).Any()))
                {
                    throw new SharpQuantException($"the shape given for input '{name}' ({Shapes.Format(given)}) does not match the model's {Shapes.Format(declared)}");
                }
                shapes[name] = given;
                var declaredBatch = input.Shape is { Count: > 0 } known ? known[0] : Dim.Named("N");
                input.Shape = given.Select((d, i) => i == 0 ? declaredBatch : Dim.Of(d)).ToArray();
            }
            else if (input.Shape is null || input.Shape.Skip(1).Any(d => !d.IsKnown))
            {
                throw new SharpQuantException(
                    $"input '{name}' has shape {Shapes.Format(input.Shape)}; give its concrete shape in GradientRequest.InputShapes (the backward rules need static spatial sizes)");
            }
        }
        ShapeInference.Infer(graph, shapes);
    }
}
