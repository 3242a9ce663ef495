using System.Collections.Frozen;

namespace SharpQuant.Passes.OpsetConversion;

/// <summary>
/// The registry: every default-domain op SharpQuant can carry from opset 7 up to 13, keyed by op type. The versions
/// follow ONNX's operator changelog and the adapters its version converter registers (onnx/version_converter/convert.h).
/// </summary>
internal static class OpHistories
{
    // Ops whose every change from opset 7 to 13 keeps the meaning of an older node (types added, negative axes
    // allowed, optional inputs or attributes with backward-compatible defaults).
    private static readonly string[] Compatible =
    [
        "Abs", "Acos", "Acosh", "Add", "And", "ArgMax", "ArgMin", "Asin", "Asinh", "Atan", "Atanh", "AveragePool",
        "BitShift", "Cast", "Ceil", "Celu", "Compress", "Concat", "ConcatFromSequence", "Constant", "ConstantOfShape",
        "Conv", "ConvInteger", "ConvTranspose", "Cos", "Cosh", "CumSum", "DepthToSpace", "DequantizeLinear", "Det",
        "Div", "DynamicQuantizeLinear", "Einsum", "Elu", "Equal", "Erf", "Exp", "Expand", "EyeLike", "Flatten", "Floor",
        "GRU", "Gather", "GatherElements", "GatherND", "Gemm", "GlobalAveragePool", "GlobalLpPool", "GlobalMaxPool",
        "Greater", "GreaterOrEqual", "HardSigmoid", "Identity", "If", "InstanceNormalization", "IsInf", "IsNaN", "LRN",
        "LSTM", "LeakyRelu", "Less", "LessOrEqual", "Log", "Loop", "LpNormalization", "LpPool", "MatMul",
        "MatMulInteger", "Max", "MaxPool", "MaxRoiPool", "MaxUnpool", "Mean", "Min", "Mod",
        "Mul", "Multinomial", "Neg", "NegativeLogLikelihoodLoss", "NonMaxSuppression", "NonZero", "Not", "OneHot", "Or",
        "PRelu", "Pow", "QLinearConv", "QLinearMatMul", "QuantizeLinear", "RNN", "RandomNormal", "RandomNormalLike",
        "RandomUniform", "RandomUniformLike", "Range", "Reciprocal", "ReduceL1", "ReduceL2", "ReduceLogSum",
        "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSumSquare", "Relu", "Reshape",
        "ReverseSequence", "RoiAlign", "Round", "ScatterElements", "ScatterND", "Selu", "SequenceAt",
        "SequenceConstruct", "SequenceEmpty", "SequenceErase", "SequenceInsert", "SequenceLength", "Shape", "Shrink",
        "Sigmoid", "Sign", "Sin", "Sinh", "Size", "SoftmaxCrossEntropyLoss", "Softplus", "Softsign", "SpaceToDepth",
        "SplitToSequence", "Sqrt", "StringNormalizer", "Sub", "Sum", "Tan", "Tanh", "TfIdfVectorizer", "ThresholdedRelu",
        "Tile", "Transpose", "Unique", "Where", "Xor",
    ];

    private static readonly FrozenDictionary<string, OpHistory> Histories = Build();

    public static OpHistory? Find(string opType) => Histories.GetValueOrDefault(opType);

    private static FrozenDictionary<string, OpHistory> Build()
    {
        var softmax = new SoftmaxFamilyConverter();
        var axes = new AxesToInputConverter();
        OpHistory[] changing =
        [
            new("Upsample", [7, 9, 10], new UpsampleConverter()),
            new("Resize", [11, 13], new ResizeConverter()),
            new("Softmax", [13], softmax),
            new("LogSoftmax", [13], softmax),
            new("Hardmax", [13], softmax),
            new("Clip", [11], new ClipConverter()),
            new("Pad", [11], new PadConverter()),
            new("Split", [13], new SplitConverter()),
            new("Squeeze", [13], axes),
            new("Unsqueeze", [13], axes),
            new("ReduceSum", [13], axes),
            new("Slice", [10], new SliceConverter()),
            new("TopK", [10], new TopKConverter()),
            new("BatchNormalization", [9], new BatchNormalizationConverter()),
            new("Dropout", [10, 12], new DropoutConverter()),
            new("Scatter", [11], new ScatterConverter()),
            new("Scan", [9], new ScanConverter()),
            new("MeanVarianceNormalization", [9], new MeanVarianceNormalizationConverter()),
            new("ImageScaler", [10], new ImageScalerConverter()),
        ];
        return Compatible.Select(op => new OpHistory(op, [], null))
            .Concat(changing)
            .ToFrozenDictionary(h => h.OpType, StringComparer.Ordinal);
    }
}
