using System.Text.RegularExpressions;

namespace SharpQuant;

/// <summary>
/// Gives every node a readable dotted module name. PyTorch exports carry their module scopes in node names
/// (<c>/layer2/layer2.0/conv1/Conv</c> becomes <c>layer2.0.conv1</c>); other exporters name layers through their
/// weights or outputs (<c>conv2d_5.w_0</c> becomes <c>conv2d_5</c>); where every name is opaque
/// (<c>Convolution257</c>), names come from the structure: residual blocks grouped into stages by width
/// (<c>stage2.block0.conv1</c>), with <c>stem</c> before the first block and <c>head</c> after the last.
/// TensorFlow scope paths give the Keras layer (<c>model/conv2d_3/Conv2D</c> becomes <c>conv2d_3</c>, see
/// <see cref="TfScopeNames"/>); tf2onnx's generated names (<c>Conv__222</c>) are opaque.
/// </summary>
public static partial class ModuleNamer
{
    public static void Assign(Graph graph)
    {
        var names = new Dictionary<Node, string>(ReferenceEqualityComparer.Instance);
        if (graph.Nodes.Any(n => IsTorchScope(n.Name)))
        {
            foreach (var (node, name) in TorchScopeNames(graph))
            {
                names[node] = name;
            }
        }
        else if (graph.Nodes.Any(n => TfScopeNames.IsScope(n.Name)))
        {
            foreach (var (node, name) in TfScopeNames.Assign(graph, HasWeight, KindName))
            {
                names[node] = name;
            }
        }
        else
        {
            var weighted = graph.Nodes.Where(HasWeight).ToList();
            var readable = weighted.Count(n => ReadableName(n) is not null);
            // Mixing naming schemes in one model reads badly: only use file names when most layers have one.
            if (weighted.Count == 0 || readable * 2 > weighted.Count)
            {
                foreach (var node in graph.Nodes)
                {
                    if (ReadableName(node) is { } name)
                    {
                        names[node] = name;
                    }
                }
            }
        }
        var useFileNames = names.Count > 0;
        var structural = useFileNames ? null : StructuralNames(graph);
        var used = new UniqueNames();
        var anchors = new Dictionary<Node, string>(ReferenceEqualityComparer.Instance);
        foreach (var node in graph.Nodes)
        {
            // In a file-named graph, an op without a name of its own is named after the nearest named layer that
            // feeds it (the Add, Clip and Mul of a hard-swish after batch_norm_0 become batch_norm_0.add, ...).
            string name;
            if (names.TryGetValue(node, out var fileName))
            {
                name = fileName;
                anchors[node] = fileName;
            }
            else if (structural is not null)
            {
                name = structural[node];
            }
            else
            {
                var anchor = node.Inputs.Select(i => i?.Producer).FirstOrDefault(p => p is not null && anchors.ContainsKey(p)) is { } feeder
                    ? anchors[feeder]
                    : "input";
                anchors[node] = anchor;
                name = anchor + "." + KindName(node.OpType);
            }
            // Module names are shown in every report: names from the file lose their control characters here.
            node.ModuleName = used.Claim(IO.TerminalText.Escape(name));
        }
    }

    private static bool IsTorchScope(string name) => name.StartsWith('/') && name.Length > 1;

    /// <summary>
    /// PyTorch scopes list each level's name relative to its container (<c>/layer2/layer2.0/conv1/Conv</c>): a segment
    /// that extends the previous one replaces it, any other segment is appended, and the last segment (the op) is dropped.
    /// </summary>
    internal static string TorchModulePath(string nodeName)
    {
        var segments = nodeName.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var parts = new List<string>();
        string? previous = null;
        for (var i = 0; i < segments.Length - 1; i++)
        {
            var s = segments[i];
            // "layer1.0" after "layer1" (or "downsample.0" after "downsample") names a child of that container.
            if (previous is not null && s.StartsWith(previous + ".", StringComparison.Ordinal))
            {
                parts[^1] = s;
            }
            else
            {
                parts.Add(s);
            }
            previous = s;
        }
        return string.Join('.', parts);
    }

    private static IEnumerable<(Node, string)> TorchScopeNames(Graph graph)
    {
        var paths = graph.Nodes.Where(n => IsTorchScope(n.Name)).Select(n => (Node: n, Path: TorchModulePath(n.Name))).ToList();
        var counts = paths.GroupBy(p => p.Path).ToDictionary(g => g.Key, g => g.Count());
        var parents = new HashSet<string>(paths.SelectMany(p => ParentPaths(p.Path)));
        foreach (var (node, path) in paths)
        {
            // A leaf module with one op is named by its path; ops of a parent module (an Add in a block) or
            // several ops of one module get the op kind appended, as torch.fx names its call_function nodes.
            var leaf = path.Length > 0 && counts[path] == 1 && !parents.Contains(path);
            var kind = KindName(node.OpType);
            yield return (node, leaf ? path : path.Length == 0 ? kind : path + "." + kind);
        }
    }

    private static IEnumerable<string> ParentPaths(string path)
    {
        for (var i = path.IndexOf('.'); i >= 0; i = path.IndexOf('.', i + 1))
        {
            yield return path[..i];
        }
    }

    private static bool HasWeight(Node node) =>
        node.OpType is "Conv" or "ConvTranspose" or "Gemm" or "MatMul" && node.InputOrNull(1)?.IsConstant == true;

    // Generated names: Convolution257, Conv_3, paddle2onnx's p2o.Conv.0 and tf2onnx's Conv__222.
    [GeneratedRegex(@"^(p2o\.)?[A-Za-z]+([._]|__)?\d+$")]
    private static partial Regex OpaquePattern();

    [GeneratedRegex(@"(\.w_\d+|\.weight|_weight|\.W|\.tmp_\d+|_Output_\d+|_output_?\d*|:\d+)$")]
    private static partial Regex SuffixPattern();

    // Weight names that say nothing about the layer: CNTK's Parameter91, exporters' onnx::Conv_123, tf2onnx's
    // folded constants (const_fold_opt__245) and other names it numbers with a double underscore.
    [GeneratedRegex(@"^(Parameter|Constant|Initializer|param|const|onnx::[A-Za-z_]+)_?\d+$|__\d+$", RegexOptions.IgnoreCase)]
    private static partial Regex GenericWeightPattern();

    private static bool IsOpaque(string name) => name.Length == 0 || OpaquePattern().IsMatch(name);

    /// <summary>A name from the file that says something: the node's own, its weight's, or its output's.</summary>
    private static string? ReadableName(Node node)
    {
        if (!IsOpaque(node.Name))
        {
            return node.Name;
        }
        if (HasWeight(node) || node.OpType is "BatchNormalization" or "PRelu" && node.InputOrNull(1)?.IsConstant == true)
        {
            var weight = SuffixPattern().Replace(node.Input(1).Name, "");
            if (weight.Length > 0 && !GenericWeightPattern().IsMatch(weight))
            {
                return weight;
            }
        }
        if (node.Outputs.Count > 0)
        {
            var output = SuffixPattern().Replace(node.Outputs[0].Name, "");
            if (!IsOpaque(output) && !output.StartsWith("p2o.", StringComparison.Ordinal) && output != node.Outputs[0].Name)
            {
                return output;
            }
        }
        return null;
    }

    internal static string KindName(string opType) => opType switch
    {
        "Conv" => "conv",
        "ConvTranspose" => "deconv",
        "BatchNormalization" => "bn",
        "Relu" => "relu",
        "MaxPool" => "maxpool",
        "AveragePool" => "avgpool",
        "GlobalAveragePool" => "gap",
        "Gemm" => "fc",
        _ => opType.ToLowerInvariant(),
    };

    private static Dictionary<Node, string> StructuralNames(Graph graph)
    {
        var blocks = ResidualBlocks.Find(graph);
        var names = new Dictionary<Node, string>(ReferenceEqualityComparer.Instance);
        var blockOf = new Dictionary<Node, ResidualBlock>(ReferenceEqualityComparer.Instance);
        foreach (var block in blocks)
        {
            foreach (var node in block.Main.Concat(block.Shortcut).Append(block.Merge).Concat(block.Tail))
            {
                blockOf.TryAdd(node, block);
            }
        }

        // Stages: consecutive blocks of the same width; a width change or a downsampling shortcut starts a new one.
        var prefixes = new Dictionary<ResidualBlock, string>();
        int stage = 0, indexInStage = 0;
        long width = -1;
        foreach (var block in blocks)
        {
            if (stage == 0 || block.Width != width || block.Shortcut.Count > 0)
            {
                stage++;
                indexInStage = 0;
            }
            else
            {
                indexInStage++;
            }
            width = block.Width;
            prefixes[block] = $"stage{stage}.block{indexInStage}";
        }

        var counters = new Dictionary<string, int>(StringComparer.Ordinal);
        string Next(string prefix, Node node)
        {
            var kind = KindName(node.OpType);
            var key = prefix + "." + kind;
            counters[key] = counters.GetValueOrDefault(key) + 1;
            return $"{key}{counters[key]}";
        }

        var seenBlock = false;
        foreach (var node in graph.Nodes)
        {
            if (blockOf.TryGetValue(node, out var block))
            {
                seenBlock = true;
                var prefix = prefixes[block];
                names[node] =
                    ReferenceEquals(node, block.Merge) ? prefix + ".add"
                    : block.Shortcut.Contains(node) ? Next(prefix + ".downsample", node)
                    : Next(prefix, node);
                continue;
            }
            var region = blocks.Count == 0 ? "layers" : !seenBlock ? "stem" : "head";
            names[node] = Next(region, node);
        }
        return names;
    }
}
