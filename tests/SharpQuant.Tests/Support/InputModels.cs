using SharpQuant.Onnx;

namespace SharpQuant.Tests.Support;

/// <summary>
/// Small convolutional models whose inputs are not ResNet18's 3×224×224 NCHW: NHWC (as tf2onnx exports), other
/// channel counts, dynamic sizes, two inputs. Random weights from a fixed seed; batch 1 declared, as exporters write.
/// </summary>
public static class InputModels
{
    /// <summary>
    /// [1, H, W, 3] → Transpose to NCHW → Conv 3→8 → Relu → Conv 8→4 (1×1) → GlobalAveragePool → Flatten, with the
    /// node names tf2onnx gives a Keras model (scope paths and generated names such as <c>Conv__12</c>).
    /// </summary>
    public static Graph Nhwc(int height, int width)
    {
        var g = new Graph();
        var x = g.AddInput("image", ElementType.Float, [1, height, width, 3]);
        var nchw = g.AddNode("Transpose", [x], moduleName: "StatefulPartitionedCall/functional_1/conv2d/Conv2D__6", attributes: new Dictionary<string, AttributeValue> { ["perm"] = AttributeValue.Of([0L, 3, 1, 2]) });
        return Head(g, nchw.Output, 3, seed: 1, TfNames);
    }

    /// <summary>The head's node names as tf2onnx writes them.</summary>
    public static readonly string[] TfNames =
    [
        "StatefulPartitionedCall/functional_1/conv2d/BiasAdd", "StatefulPartitionedCall/functional_1/conv2d/Relu",
        "Conv__12", "StatefulPartitionedCall/functional_1/global_average_pooling2d/Mean", "StatefulPartitionedCall/functional_1/flatten/Reshape",
    ];

    /// <summary>
    /// <see cref="Nchw"/> at 32×32 with a Softmax(axis 1) at the end at opset 11, no intermediate shapes recorded: the
    /// opset raise must keep the old 2-D axis meaning without knowing the rank.
    /// </summary>
    public static Graph Opset11Classifier()
    {
        var g = Nchw(3, 32);
        g.Info.OnnxOpset = 11;
        var logits = g.Outputs[0];
        var softmax = g.AddNode("Softmax", [logits], moduleName: "softmax", attributes: new Dictionary<string, AttributeValue> { ["axis"] = AttributeValue.Of(1L) });
        g.SetOutput(0, softmax.Output);
        return g;
    }

    /// <summary>[1, C, H, W] (H and W named symbols where <paramref name="size"/> is null) → Conv C→8 → Relu → Conv → pool.</summary>
    public static Graph Nchw(int channels, int? size)
    {
        var g = new Graph();
        IReadOnlyList<Dim> shape = size is { } s ? [1, channels, s, s] : [1, channels, Dim.Named("height"), Dim.Named("width")];
        var x = g.AddInput("input", ElementType.Float, shape);
        return Head(g, x, channels, seed: 2);
    }

    /// <summary>Two [1, 3, 16, 16] inputs 'left' and 'right', each through its own Conv, added, then the common head.</summary>
    public static Graph TwoInputs()
    {
        var g = new Graph();
        var left = g.AddInput("left", ElementType.Float, [1, 3, 16, 16]);
        var right = g.AddInput("right", ElementType.Float, [1, 3, 16, 16]);
        var a = Conv(g, left, 3, 8, 3, "left_conv", seed: 3);
        var b = Conv(g, right, 3, 8, 3, "right_conv", seed: 4);
        var sum = g.AddNode("Add", [a.Output, b.Output], moduleName: "merge");
        return Head(g, sum.Output, 8, seed: 5);
    }

    public static string Save(Graph graph, string path)
    {
        OnnxModel.Save(graph, path);
        return path;
    }

    private static readonly string[] PlainNames = ["conv1", "relu1", "conv2", "pool", "flatten"];

    private static Graph Head(Graph g, Value x, int channels, int seed, string[]? names = null)
    {
        names ??= PlainNames;
        var conv1 = Conv(g, x, channels, 8, 3, names[0], seed);
        var relu = g.AddNode("Relu", [conv1.Output], moduleName: names[1]);
        var conv2 = Conv(g, relu.Output, 8, 4, 1, names[2], seed + 100);
        var pool = g.AddNode("GlobalAveragePool", [conv2.Output], moduleName: names[3]);
        var flat = g.AddNode("Flatten", [pool.Output], moduleName: names[4]);
        g.AddOutput(flat.Output);
        return g;
    }

    private static Node Conv(Graph g, Value x, int inChannels, int outChannels, int kernel, string name, int seed)
    {
        var random = new Random(seed);
        var weights = new float[outChannels * inChannels * kernel * kernel];
        var bound = (float)Math.Sqrt(6.0 / (inChannels * kernel * kernel));
        for (var i = 0; i < weights.Length; i++)
        {
            weights[i] = (float)(random.NextDouble() * 2 - 1) * bound;
        }
        var bias = Enumerable.Range(0, outChannels).Select(_ => (float)(random.NextDouble() * 0.2 - 0.1)).ToArray();
        var w = g.AddConstant(name + ".weight", Tensor.FromFloats(weights, outChannels, inChannels, kernel, kernel));
        var b = g.AddConstant(name + ".bias", Tensor.FromFloats(bias, outChannels));
        var pad = kernel / 2;
        return g.AddNode("Conv", [x, w, b], moduleName: name, attributes: new Dictionary<string, AttributeValue>
        {
            ["kernel_shape"] = AttributeValue.Of([(long)kernel, kernel]),
            ["pads"] = AttributeValue.Of([(long)pad, pad, pad, pad]),
        });
    }
}
