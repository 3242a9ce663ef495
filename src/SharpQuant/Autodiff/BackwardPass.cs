namespace SharpQuant.Autodiff;

/// <summary>
/// Reverse-mode differentiation over the forward nodes: finds the nodes that lie between the requested values
/// and the target (only those get backward nodes), seeds the target's gradient, walks the nodes in reverse
/// order applying each op's rule, and sums the contributions of values read by several nodes.
/// A lowered FakeQuant chain is one op with inputs x, scale and zero point.
/// </summary>
internal sealed class BackwardPass
{
    private readonly Graph _graph;
    private readonly IReadOnlyDictionary<Node, FakeQuantUnit> _units;
    private readonly HashSet<Node> _chainNodes;
    private readonly GraphEmitter _emit;
    private readonly BackwardRules _rules;
    private readonly Dictionary<Value, List<Value>> _contributions = new(ReferenceEqualityComparer.Instance);

    public BackwardPass(Graph graph, IReadOnlyDictionary<Node, FakeQuantUnit> units, HashSet<Node> chainNodes)
    {
        _graph = graph;
        _units = units;
        _chainNodes = chainNodes;
        _emit = new GraphEmitter(graph);
        _rules = new BackwardRules(_emit);
    }

    /// <returns>The gradient of the target with respect to each of <paramref name="wrt"/>, in order.</returns>
    public IReadOnlyList<Value> Run(Value target, SeedKind? seed, IReadOnlyList<Value> wrt)
    {
        var forwardNodes = _graph.Nodes.Where(n => !_chainNodes.Contains(n) || _units.ContainsKey(n)).ToList();
        var dependent = new HashSet<Value>(wrt, ReferenceEqualityComparer.Instance);
        foreach (var node in forwardNodes)
        {
            if (!BackwardRules.IsNonDifferentiable(node) && InputsOf(node).Any(i => i is not null && dependent.Contains(i)))
            {
                foreach (var o in node.Outputs.Where(o => o.ElementType is ElementType.Float or ElementType.Undefined))
                {
                    dependent.Add(o);
                }
            }
        }
        var reaches = new HashSet<Value>(ReferenceEqualityComparer.Instance) { target };
        for (var i = forwardNodes.Count - 1; i >= 0; i--)
        {
            var node = forwardNodes[i];
            if (node.Outputs.Any(reaches.Contains))
            {
                foreach (var input in InputsOf(node).Where(v => v is not null))
                {
                    reaches.Add(input!);
                }
            }
        }

        if (dependent.Contains(target))
        {
            _emit.Scope = "grad/seed";
            Contribute(target, Seed(target, seed));
        }
        for (var i = forwardNodes.Count - 1; i >= 0; i--)
        {
            var node = forwardNodes[i];
            var dOut = node.Outputs.Select(GradientOrNull).ToArray();
            if (dOut.All(d => d is null))
            {
                continue;
            }
            var inputs = InputsOf(node);
            var needs = inputs.Select(v => v is not null && dependent.Contains(v) && reaches.Contains(v)).ToArray();
            if (!needs.Any(n => n))
            {
                continue;
            }
            _emit.Scope = "grad/" + Graph.DisplayName(node);
            Value?[] grads;
            if (_units.TryGetValue(node, out var unit))
            {
                var (dx, ds, dz) = FakeQuantBackward.Differentiate(_emit, unit, dOut[0]!, needs[0], needs[1], needs[2]);
                grads = [dx, ds, dz];
            }
            else
            {
                grads = _rules.Differentiate(node, dOut, needs);
            }
            for (var k = 0; k < grads.Length; k++)
            {
                if (grads[k] is { } g)
                {
                    Contribute(inputs[k]!, g);
                }
            }
        }

        _emit.Scope = "grad/zeros";
        return wrt.Select(v => GradientOrNull(v) ?? _emit.Filled(v, 0f)).ToArray();
    }

    private Value?[] InputsOf(Node node) =>
        _units.TryGetValue(node, out var unit) ? [unit.Input, unit.Scale, unit.ZeroPoint] : node.Inputs.ToArray();

    private void Contribute(Value value, Value gradient)
    {
        if (!_contributions.TryGetValue(value, out var list))
        {
            _contributions[value] = list = [];
        }
        list.Add(gradient);
    }

    /// <summary>The summed gradient of a value (the sum is emitted once, when first asked for).</summary>
    private Value? GradientOrNull(Value value)
    {
        if (!_contributions.TryGetValue(value, out var list))
        {
            return null;
        }
        if (list.Count > 1)
        {
            var sum = _emit.Sum(list);
            list.Clear();
            list.Add(sum);
        }
        return list[0];
    }

    private Value Seed(Value target, SeedKind? seed)
    {
        switch (seed)
        {
            case null:
                if (target.Shape is { } shape && (shape.Count > 1 || shape.Count == 1 && shape[0].Size != 1))
                {
                    throw new SharpQuantException($"the loss '{target.Name}' must hold a scalar (shape [] or [1]), not {Shapes.Format(shape)}");
                }
                return _emit.Filled(target, 1f);
            case SeedKind.Sum:
                return _emit.Filled(target, 1f);
            case SeedKind.Top1:
                {
                    // One-hot of each sample's largest element: flatten to [N, rest], ArgMax, scatter ones.
                    var flat = _emit.Reshape(target, _emit.Ints(0, -1));
                    var index = _emit.OpTyped("ArgMax", ElementType.Int64, [flat], ("axis", 1L), ("keepdims", 1L));
                    var ones = _emit.Op("ConstantOfShape", [_emit.Shape(index)], ("value", Tensor.FromFloats([1f], 1)));
                    var oneHot = _emit.Op("ScatterElements", [_emit.Filled(flat, 0f), index, ones], ("axis", 1L));
                    return _emit.ReshapeLike(oneHot, target);
                }
            default:
                throw new ArgumentOutOfRangeException(nameof(seed), seed, "unknown seed kind");
        }
    }
}
