using System.Text.RegularExpressions;

namespace SharpQuant;

/// <summary>
/// Module names for TensorFlow exports (tf2onnx, keras2onnx): their node names are TF scope paths such as
/// <c>StatefulPartitionedCall/functional_1/conv2d_1/BiasAdd</c> or <c>model/conv2d_3/Conv2D</c>, where the segment
/// before the TF op is the Keras layer (<c>conv2d_1</c>) and the segments before it are the model's wrappers.
/// </summary>
internal static partial class TfScopeNames
{
    /// <summary>A TF scope path: segments separated by '/', not a PyTorch scope (those start with '/').</summary>
    public static bool IsScope(string name) => name.Length > 0 && name[0] != '/' && name.Contains('/', StringComparison.Ordinal);

    /// <summary>The Keras layer a scope path names (the segment before the op), or null when only wrappers precede the op.</summary>
    public static string? LayerOf(string nodeName)
    {
        var segments = nodeName.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length < 2)
        {
            return null;
        }
        var layer = segments[^2];
        return WrapperPattern().IsMatch(layer) ? null : layer;
    }

    /// <summary>
    /// The Keras layer a weight's scope path names (<c>model/conv2d/Conv2D/ReadVariableOp:0</c>, <c>model/dense/kernel</c>):
    /// the last segment once the ops and variable names that read it are dropped.
    /// </summary>
    public static string? LayerOfWeight(string weightName)
    {
        var segments = weightName.Split(':')[0].Split('/', StringSplitOptions.RemoveEmptyEntries).ToList();
        while (segments.Count > 1 && VariableSegmentPattern().IsMatch(segments[^1]))
        {
            segments.RemoveAt(segments.Count - 1);
        }
        return segments.Count > 1 && !WrapperPattern().IsMatch(segments[^1]) ? segments[^1] : null;
    }

    /// <summary>
    /// Names for the scope-named nodes (and for generated-name nodes whose weight has a scope path): a layer's weighted op (or its only op) takes the layer name; its other ops
    /// (the Relu of a Conv2D with an activation, the Add of a Dense) get the op kind appended.
    /// </summary>
    public static IEnumerable<(Node Node, string Name)> Assign(Graph graph, Func<Node, bool> hasWeight, Func<string, string> kindName)
    {
        var layers = graph.Nodes
            .Select(n => (Node: n, Layer: IsScope(n.Name) ? LayerOf(n.Name) : hasWeight(n) && IsScope(n.Input(1).Name) ? LayerOfWeight(n.Input(1).Name) : null))
            .Where(p => p.Layer is not null).ToList();
        var primary = new Dictionary<string, Node>(StringComparer.Ordinal);
        foreach (var group in layers.GroupBy(p => p.Layer!, StringComparer.Ordinal))
        {
            var nodes = group.Select(p => p.Node).ToList();
            var main = nodes.FirstOrDefault(hasWeight) ?? (nodes.Count == 1 ? nodes[0] : null);
            if (main is not null)
            {
                primary[group.Key] = main;
            }
        }
        foreach (var (node, layer) in layers)
        {
            yield return (node, primary.TryGetValue(layer!, out var main) && ReferenceEquals(main, node) ? layer! : $"{layer}.{kindName(node.OpType)}");
        }
    }

    // The TF ops and variables under a layer's scope that hold or read its weights.
    [GeneratedRegex(@"^(ReadVariableOp|read|Read|kernel|bias|weights|depthwise_kernel|gamma|beta|moving_mean|moving_variance|Conv2D|MatMul|BiasAdd|DepthwiseConv2dNative|Conv2DBackpropInput|FusedBatchNormV3|Const)(_\d+)?$")]
    private static partial Regex VariableSegmentPattern();

    // Keras and TF wrapper scopes around the layers: the traced call and the default model names.
    [GeneratedRegex(@"^(StatefulPartitionedCall|PartitionedCall|functional(_\d+)?|model(_\d+)?|sequential(_\d+)?)$")]
    private static partial Regex WrapperPattern();
}
