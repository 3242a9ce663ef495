namespace SharpQuant;

/// <summary>
/// A residual block: the value it forks from, the nodes on its main and shortcut branches, the Add that merges
/// them, and the activations that follow the Add. <see cref="Width"/> is the output channel count of the
/// last weighted layer on the main branch (0 when unknown).
/// </summary>
public sealed record ResidualBlock(Value Fork, IReadOnlyList<Node> Main, IReadOnlyList<Node> Shortcut, Node Merge, IReadOnlyList<Node> Tail, long Width);

/// <summary>Finds residual blocks: Adds of two computed tensors that descend from a common fork.</summary>
public static class ResidualBlocks
{
    public static IReadOnlyList<ResidualBlock> Find(Graph graph)
    {
        var position = new Dictionary<Node, int>(ReferenceEqualityComparer.Instance);
        for (var i = 0; i < graph.Nodes.Count; i++)
        {
            position[graph.Nodes[i]] = i;
        }
        var blocks = new List<ResidualBlock>();
        foreach (var add in graph.Nodes.Where(n => n.OpType == "Add" && n.Inputs.Count == 2))
        {
            var a = add.Inputs[0];
            var b = add.Inputs[1];
            if (a is null || b is null || a.IsConstant || b.IsConstant || a.Producer is null && b.Producer is null)
            {
                continue;
            }
            var fork = LatestCommonAncestor(a, b, position);
            if (fork is null)
            {
                continue;
            }
            var branchA = NodesBetween(fork, a, position);
            var branchB = NodesBetween(fork, b, position);
            // The main branch is the longer one; an identity shortcut has no nodes at all.
            var (main, shortcut) = branchA.Count >= branchB.Count ? (branchA, branchB) : (branchB, branchA);
            if (main.Count == 0)
            {
                continue;
            }
            var tail = new List<Node>();
            var last = add.Output;
            while (last.Uses.Count == 1 && last.Uses[0].Node is { OpType: "Relu" or "Clip" or "LeakyRelu" or "PRelu" } act)
            {
                tail.Add(act);
                last = act.Output;
            }
            var width = main.Where(n => n.OpType is "Conv" or "Gemm" && n.ConstantInput(1) is not null)
                .Select(n => n.ConstantInput(1)!.Shape[0]).LastOrDefault();
            blocks.Add(new ResidualBlock(fork, main, shortcut, add, tail, width));
        }
        return blocks;
    }

    /// <summary>The latest value (in node order) from which both <paramref name="a"/> and <paramref name="b"/> are computed.</summary>
    private static Value? LatestCommonAncestor(Value a, Value b, Dictionary<Node, int> position)
    {
        var ancestorsA = Ancestors(a);
        Value? best = null;
        var bestPosition = int.MinValue;
        foreach (var v in Ancestors(b))
        {
            if (!ancestorsA.Contains(v) || v.IsConstant)
            {
                continue;
            }
            var p = v.Producer is null ? -1 : position[v.Producer];
            if (p > bestPosition)
            {
                best = v;
                bestPosition = p;
            }
        }
        return best;
    }

    private static HashSet<Value> Ancestors(Value start)
    {
        var seen = new HashSet<Value>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<Value>([start]);
        while (stack.TryPop(out var v))
        {
            if (!seen.Add(v) || v.Producer is null)
            {
                continue;
            }
            foreach (var input in v.Producer.Inputs)
            {
                if (input is not null && !input.IsConstant)
                {
                    stack.Push(input);
                }
            }
        }
        return seen;
    }

    /// <summary>Nodes that are ancestors of <paramref name="end"/> and descend from <paramref name="fork"/>, in node order.</summary>
    private static List<Node> NodesBetween(Value fork, Value end, Dictionary<Node, int> position)
    {
        var result = new List<Node>();
        var seen = new HashSet<Node>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<Value>([end]);
        while (stack.TryPop(out var v))
        {
            if (ReferenceEquals(v, fork) || v.Producer is not { } producer || !seen.Add(producer))
            {
                continue;
            }
            result.Add(producer);
            foreach (var input in producer.Inputs)
            {
                if (input is not null && !input.IsConstant)
                {
                    stack.Push(input);
                }
            }
        }
        result.Sort((x, y) => position[x].CompareTo(position[y]));
        return result;
    }
}
