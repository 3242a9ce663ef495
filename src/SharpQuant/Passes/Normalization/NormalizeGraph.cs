using SharpQuant.Runtime;

namespace SharpQuant.Passes.Normalization;

/// <summary>What load-time normalization folded into constants, and what it left and why.</summary>
public sealed record NormalizeReport(int Identities, int Casts, int ShapeValues, int NodesRemoved, IReadOnlyList<string> Notes)
{
    public int Folded => Identities + Casts + ShapeValues;

    /// <summary>One line for a console: "folded 5 Identity of constants, 0 Casts, 0 shape values (7 nodes removed)".</summary>
    public string Summary =>
        $"graph normalization: {Identities} Identity of constants, {Casts} Casts of constants and {ShapeValues} shape values folded ({NodesRemoved} nodes removed)";
}

/// <summary>
/// Load-time normalization: folds the constant subgraphs exporters leave, so later steps see constants.
/// <list type="bullet">
/// <item>Identity of a constant (PyTorch's exporter writes one for every deduplicated equal tensor: biases of
/// MobileNetV3-small and EfficientNet-B0, BatchNorm statistics of a training-mode export) becomes the constant.</item>
/// <item>Cast of a constant becomes the cast constant.</item>
/// <item>Shape arithmetic (Shape → Gather → Add/Div/Mul → Unsqueeze → Concat → Slice bounds, ConstantOfShape, Range, …)
/// that does not depend on a dynamic dimension becomes a constant: the C# shape rules
/// (<see cref="ShapeValueEvaluator"/>) evaluate every small integer tensor exactly for concrete input shapes; they run
/// for <see cref="Probes"/> different sizes of every dynamic dimension, and only values equal in every run are
/// folded. A value that follows the batch (a Reshape to [N, …]) stays computed.</item>
/// </list>
/// Float values are never recomputed, so the model's function is unchanged bit for bit.
/// </summary>
public sealed class NormalizeGraph : GraphPass<NormalizeReport>
{
    /// <summary>
    /// Sizes given to dynamic dimensions, one shape-inference run each: the batch (first dimension) and other dynamic
    /// dimensions. Three runs with sizes that share no factor tell a value that truly follows a dimension from one
    /// that merely looks constant (Min(N, 5) differs between 1 and 7; N·0 does not, and is constant).
    /// </summary>
    internal static readonly (long Batch, long Other)[] Probes = [(1, 64), (2, 96), (7, 160)];

    public override string Name => "normalize-graph";

    protected override NormalizeReport Apply(Graph graph)
    {
        var notes = new List<string>();
        var identities = FoldIdentities(graph);
        var casts = FoldCasts(graph);
        var shapes = FoldShapeValues(graph, notes);
        // Folding may expose new Identity/Cast of constants (a Cast of a folded shape): one more round of each.
        identities += FoldIdentities(graph);
        casts += FoldCasts(graph);
        var removed = identities + casts + shapes > 0 ? graph.RemoveUnused() : 0;
        return new NormalizeReport(identities, casts, shapes, removed, notes);
    }

    private static int FoldIdentities(Graph graph)
    {
        var folded = 0;
        foreach (var node in graph.Nodes.Where(n => n is { OpType: "Identity", IsStandardOnnx: true }).ToList())
        {
            var input = node.InputOrNull(0);
            if (input is not { IsConstant: true } || node.Output.IsGraphOutput || node.Output.Uses.Count == 0)
            {
                continue;
            }
            graph.ReplaceAllUsesWith(node.Output, input);
            folded++;
        }
        return folded;
    }

    private static int FoldCasts(Graph graph)
    {
        var folded = 0;
        foreach (var node in graph.Nodes.Where(n => n is { OpType: "Cast", IsStandardOnnx: true }).ToList())
        {
            if (node.InputOrNull(0)?.ConstantValue is not { } source || node.Output.IsGraphOutput || node.Output.Uses.Count == 0)
            {
                continue;
            }
            var to = (ElementType)node.GetInt("to", 0);
            if (ConstantCast.TryCast(source, to) is not { } cast)
            {
                continue;
            }
            graph.ReplaceAllUsesWith(node.Output, graph.AddConstant(node.Output.Name, cast));
            folded++;
        }
        return folded;
    }

    private static int FoldShapeValues(Graph graph, List<string> notes)
    {
        if (graph.Inputs.Any(i => i.Shape is null))
        {
            notes.Add("shape arithmetic left in place: an input has no declared shape");
            return 0;
        }
        var runs = new List<Dictionary<Value, ValueFacts>>();
        foreach (var probe in Probes)
        {
            var inputs = graph.Inputs.ToDictionary(
                i => i,
                i => new ValueFacts(i.ElementType == ElementType.Undefined ? ElementType.Float : i.ElementType,
                    i.Shape!.Select((d, k) => d.Size ?? (k == 0 ? probe.Batch : probe.Other)).ToArray()),
                (IEqualityComparer<Value>)ReferenceEqualityComparer.Instance);
            if (TryInfer(graph, inputs, notes) is not { } facts)
            {
                return 0;
            }
            runs.Add(facts);
            if (graph.Inputs.All(i => i.Shape!.All(d => d.IsKnown)))
            {
                break;  // static shapes: one run is exact
            }
        }
        var folded = 0;
        var dynamic = 0;
        foreach (var node in graph.Nodes.ToList())
        {
            if (!node.IsStandardOnnx || node.OpType is "Constant" || node.Outputs.Count != 1 || node.Output.IsGraphOutput || node.Output.Uses.Count == 0)
            {
                continue;
            }
            var output = node.Output;
            if (runs[0].GetValueOrDefault(output) is not { Ints: { } ints } first || !ValueFacts.IsInteger(first.Type))
            {
                continue;
            }
            if (runs.Skip(1).Any(r => r.GetValueOrDefault(output) is not { Ints: { } other } facts || !facts.Shape.SequenceEqual(first.Shape) || !other.SequenceEqual(ints)))
            {
                dynamic++;
                continue;
            }
            graph.ReplaceAllUsesWith(output, graph.AddConstant(output.Name, IntegerTensor(first.Type, ints, first.Shape)));
            folded++;
        }
        if (dynamic > 0)
        {
            notes.Add($"{dynamic} shape values follow a dynamic dimension and stay computed");
        }
        return folded;
    }

    /// <summary>
    /// The shape rules for one set of input sizes, or null. Loading must not fail because a rule met a model it was
    /// not written for: normalization is an improvement, so a rule's failure leaves the shape arithmetic as it is.
    /// </summary>
    private static Dictionary<Value, ValueFacts>? TryInfer(Graph graph, Dictionary<Value, ValueFacts> inputs, List<string> notes)
    {
        try
        {
            return ShapeValueEvaluator.Run(graph, inputs);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            notes.Add($"shape arithmetic left in place: shape inference failed ({e.GetType().Name}: {e.Message})");
            return null;
        }
    }

    private static Tensor IntegerTensor(ElementType type, long[] values, long[] shape) => type switch
    {
        ElementType.Int64 => Tensor.Create(values, shape),
        ElementType.Int32 => Tensor.Create(Array.ConvertAll(values, v => checked((int)v)), shape),
        ElementType.Int8 => Tensor.Create(Array.ConvertAll(values, v => checked((sbyte)v)), shape),
        ElementType.UInt8 => Tensor.Create(Array.ConvertAll(values, v => checked((byte)v)), shape),
        _ => throw new InvalidOperationException($"not an integer type: {type.DisplayName()}"),
    };
}
