using System.Collections.Frozen;

namespace SharpQuant;

/// <summary>
/// The operators of the default ONNX domain (ai.onnx, through opset 23). A default-domain op outside this set, or an
/// op of a domain neither ONNX nor ONNX Runtime defines, is refused on load. Ops of ONNX Runtime's other domains
/// (com.microsoft, ai.onnx.ml) load and can be inspected, but are unknown to the IR: passes that must understand
/// every op name it and its node.
/// </summary>
public static class OnnxOps
{
    /// <summary>SharpQuant's own operator domain (FakeQuant).</summary>
    public const string SharpQuantDomain = "sharpquant";

    public static readonly FrozenSet<string> Standard = new[]
    {
        "Abs", "Acos", "Acosh", "Add", "AffineGrid", "And", "ArgMax", "ArgMin", "Asin", "Asinh", "Atan", "Atanh",
        "Attention", "AveragePool", "BatchNormalization", "Bernoulli", "BitShift", "BitwiseAnd", "BitwiseNot",
        "BitwiseOr", "BitwiseXor", "BlackmanWindow", "Cast", "CastLike", "Ceil", "Celu", "CenterCropPad", "Clip",
        "Col2Im", "Compress", "Concat", "ConcatFromSequence", "Constant", "ConstantOfShape", "Conv", "ConvInteger",
        "ConvTranspose", "Cos", "Cosh", "CumSum", "DFT", "DeformConv", "DepthToSpace", "DequantizeLinear", "Det",
        "Div", "Dropout", "DynamicQuantizeLinear", "Einsum", "Elu", "Equal", "Erf", "Exp", "Expand", "EyeLike",
        "Flatten", "Floor", "GRU", "Gather", "GatherElements", "GatherND", "Gelu", "Gemm", "GlobalAveragePool",
        "GlobalLpPool", "GlobalMaxPool", "Greater", "GreaterOrEqual", "GridSample", "GroupNormalization",
        "HammingWindow", "HannWindow", "HardSigmoid", "HardSwish", "Hardmax", "Identity", "If", "ImageDecoder",
        "InstanceNormalization", "IsInf", "IsNaN", "LRN", "LSTM", "LayerNormalization", "LeakyRelu", "Less",
        "LessOrEqual", "Log", "LogSoftmax", "Loop", "LpNormalization", "LpPool", "MatMul", "MatMulInteger", "Max",
        "MaxPool", "MaxRoiPool", "MaxUnpool", "Mean", "MeanVarianceNormalization", "MelWeightMatrix", "Min", "Mish",
        "Mod", "Mul", "Multinomial", "Neg", "NegativeLogLikelihoodLoss", "NonMaxSuppression", "NonZero", "Not",
        "OneHot", "Optional", "OptionalGetElement", "OptionalHasElement", "Or", "PRelu", "Pad", "Pow",
        "QLinearConv", "QLinearMatMul", "QuantizeLinear", "RMSNormalization", "RNN", "RandomNormal",
        "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Range", "Reciprocal", "ReduceL1", "ReduceL2",
        "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum",
        "ReduceSumSquare", "RegexFullMatch", "Relu", "Reshape", "Resize", "ReverseSequence", "RoiAlign",
        "RotaryEmbedding", "Round", "STFT", "Scan", "Scatter", "ScatterElements", "ScatterND", "Selu",
        "SequenceAt", "SequenceConstruct", "SequenceEmpty", "SequenceErase", "SequenceInsert", "SequenceLength",
        "SequenceMap", "Shape", "Shrink", "Sigmoid", "Sign", "Sin", "Sinh", "Size", "Slice", "Softmax",
        "SoftmaxCrossEntropyLoss", "Softplus", "Softsign", "SpaceToDepth", "Split", "SplitToSequence", "Sqrt",
        "Squeeze", "StringConcat", "StringNormalizer", "StringSplit", "Sub", "Sum", "Swish", "Tan", "Tanh",
        "TensorScatter", "TfIdfVectorizer", "ThresholdedRelu", "Tile", "TopK", "Transpose", "Trilu", "Unique",
        "Unsqueeze", "Upsample", "Where", "Xor",
    }.ToFrozenSet(StringComparer.Ordinal);

    public static bool IsKnown(Node node) =>
        node.IsStandardOnnx ? Standard.Contains(node.OpType) : node.Domain == SharpQuantDomain;

    /// <summary>The nodes whose op the IR does not know.</summary>
    public static IEnumerable<Node> UnknownNodes(Graph graph) => graph.Nodes.Where(n => !IsKnown(n));

    /// <summary>Throws <see cref="UnsupportedOpException"/> naming the first unknown op, for passes that need to understand all ops.</summary>
    public static void RequireKnown(Graph graph, string context)
    {
        if (UnknownNodes(graph).FirstOrDefault() is { } node)
        {
            throw new UnsupportedOpException(node.IsStandardOnnx ? node.OpType : $"{node.Domain}.{node.OpType}", Graph.DisplayName(node), context);
        }
    }
}
