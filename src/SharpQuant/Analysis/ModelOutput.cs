using System.Globalization;

namespace SharpQuant.Analysis;

/// <summary>
/// What a model's output is, read from the graph: class scores (logits or probabilities), an embedding (the feature
/// vector of a backbone without a classifier, such as the default ResNet18's [N, 512, 1, 1]) or a feature map. Top-1
/// agreement, the KL divergence of the softmax and top-k with labels mean something only for class scores; cosine,
/// SQNR and max|Δ| hold for any output.
/// <para>
/// The kind comes from the output's shape and the op that computes it, looking through ops that only move, cast or
/// quantize values (Reshape, Flatten, Squeeze, Identity, Dropout, Cast, QuantizeLinear, DequantizeLinear, FakeQuant)
/// and through the constant bias Add of a fully connected layer. Softmax gives probabilities; Gemm, MatMul,
/// LogSoftmax and a Conv whose output has one position per channel give logits; any other op (pooling, an
/// activation, an Add of two tensors) gives an embedding. A classifier whose last op is a pooling (SqueezeNet's
/// 1×1 conv, ReLU and global average pooling) therefore reads as an embedding: the graph alone cannot tell its
/// pooled class scores from pooled features. The other way round, an embedding whose last op is a fully connected
/// layer without a normalization after it reads as logits.
/// </para>
/// </summary>
/// <param name="Name">The output's name in the graph.</param>
/// <param name="Kind">What the output holds.</param>
/// <param name="Size">Classes for class scores, dimensions for an embedding, channels for a feature map; null when the shape does not say.</param>
/// <param name="Shape">The output's shape as declared (or observed), formatted: "[N, 512, 1, 1]"; "?" when unknown.</param>
/// <param name="EndsIn">The op type that decided the kind ("Softmax", "AveragePool"), or null when no op computes the output.</param>
/// <param name="Nature">What the output is, as a noun phrase for messages: "a 512-d embedding (a feature extractor without a classifier)".</param>
public sealed record ModelOutput(string Name, OutputKind Kind, long? Size, string Shape, string? EndsIn, string Nature)
{
    /// <summary>Ops that pass values on without computing new ones from several of them.</summary>
    private static readonly HashSet<string> PassThroughOps = new(StringComparer.Ordinal)
    {
        "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout", "Cast", "QuantizeLinear", "DequantizeLinear", "FakeQuant",
    };

    /// <summary>Ops whose output is one score per class when the output is a vector per sample.</summary>
    private static readonly HashSet<string> LogitOps = new(StringComparer.Ordinal) { "Gemm", "MatMul", "LogSoftmax", "Conv" };

    /// <summary>How many pass-through ops are looked through before giving up; heads have a handful at most.</summary>
    private const int MaxPassThroughHops = 16;

    private IReadOnlyList<Dim>? _dims;
    private ElementType _elementType;

    /// <summary>True for logits and probabilities: top-1 agreement, KL and top-k apply.</summary>
    public bool IsClassScores => Kind is OutputKind.ClassLogits or OutputKind.ClassProbabilities;

    /// <summary>
    /// One line for summaries (inspect, demo, the report's model section): "feature extractor: 512-d output, no
    /// classifier", "classifier: 2 classes (probabilities, ends in Softmax)".
    /// </summary>
    public string Summary => Kind switch
    {
        OutputKind.ClassProbabilities or OutputKind.ClassLogits =>
            $"classifier: {(Size is { } n ? Classes(n) : "class count not declared")} ({(Kind == OutputKind.ClassProbabilities ? "probabilities" : "logits")}, ends in {EndsIn})",
        OutputKind.Embedding => Size is { } d
            ? $"feature extractor: {d.ToString(CultureInfo.InvariantCulture)}-d output, no classifier"
            : "feature extractor: a vector of undeclared size per sample, no classifier",
        OutputKind.FeatureMap => $"feature map: {Shape} output, no classifier",
        _ => $"{Nature}, not class scores",
    };

    /// <summary>The first output of <paramref name="graph"/> (or the one at <paramref name="index"/>), classified from the graph alone.</summary>
    public static ModelOutput Of(Graph graph, int index = 0)
    {
        if (index < 0 || index >= graph.Outputs.Count)
        {
            throw new SharpQuantException($"the model has {graph.Outputs.Count} outputs; there is no output {index}");
        }
        var value = graph.Outputs[index];
        var typeText = value.NonTensorType is { } type ? Onnx.TypeProtoText.Format(type) : null;
        return Classify(value.Name, value.ElementType, value.Shape, DecidingOp(value), typeText);
    }

    /// <summary>
    /// This output with the shape of an actual output tensor filling in what the graph does not declare (dimensions
    /// that are symbols or unknown, or no shape at all). The batch axis keeps its symbol: one run's batch size says
    /// nothing about the model.
    /// </summary>
    public ModelOutput Observe(IReadOnlyList<long> shape)
    {
        var dims = _dims is { } known && known.Count == shape.Count
            ? known.Select((d, i) => d.IsKnown || i == 0 ? d : Dim.Of(shape[i])).ToArray()
            : shape.Select((d, i) => i == 0 ? Dim.Named(BatchSymbol) : Dim.Of(d)).ToArray();
        return Classify(Name, _elementType, dims, EndsIn);
    }

    /// <summary>The batch axis's name where the graph declares no shape, as <see cref="Graph.MakeBatchDynamic"/> names it.</summary>
    private const string BatchSymbol = "N";

    /// <summary>
    /// Why labels of <paramref name="labelCount"/> classes do not fit this output, or null when they do (class scores
    /// with as many classes, or class scores of a size the graph does not declare: <see cref="Observe"/> first).
    /// </summary>
    public string? LabelMismatch(int labelCount)
    {
        if (!IsClassScores)
        {
            return $"the model's output '{Name}' is {Nature}; top-k needs class scores with one score per label";
        }
        return Size is { } n && n != labelCount
            ? $"the model's output '{Name}' holds scores for {Classes(n)}; top-k needs one label per class score"
            : null;
    }

    /// <summary>
    /// Equal when the positional members are: the dimensions kept for <see cref="Observe"/> are in
    /// <see cref="Shape"/> already, and an array would compare by reference.
    /// </summary>
    public bool Equals(ModelOutput? other) =>
        other is not null && Name == other.Name && Kind == other.Kind && Size == other.Size && Shape == other.Shape &&
        EndsIn == other.EndsIn && Nature == other.Nature;

    public override int GetHashCode() => HashCode.Combine(Name, Kind, Size, Shape, EndsIn, Nature);

    private static string Classes(long n) => n == 1 ? "1 class" : $"{n.ToString(CultureInfo.InvariantCulture)} classes";

    /// <summary>The op behind the output, through pass-through ops and a bias Add; null for a graph input or a constant.</summary>
    private static string? DecidingOp(Value output)
    {
        var node = output.Producer;
        for (var hop = 0; node is not null && hop < MaxPassThroughHops; hop++)
        {
            var next = PassThroughOps.Contains(node.OpType) ? node.InputOrNull(0)
                : IsBiasAdd(node) ? node.Inputs.First(i => i is { IsConstant: false })
                : null;
            if (next is null)
            {
                return node.OpType;
            }
            node = next.Producer;
        }
        return node?.OpType;
    }

    /// <summary>An Add of a constant to a computed value: the bias of a MatMul-and-Add fully connected layer.</summary>
    private static bool IsBiasAdd(Node node) =>
        node.OpType == "Add" && node.Inputs.Count == 2 && node.Inputs.Count(i => i is { IsConstant: true }) == 1 && node.Inputs.All(i => i is not null);

    /// <param name="typeText">The type of a sequence, optional or map output, as summaries show it.</param>
    private static ModelOutput Classify(string name, ElementType type, IReadOnlyList<Dim>? dims, string? endsIn, string? typeText = null)
    {
        var shape = Shapes.Format(dims);
        ModelOutput Result(OutputKind kind, long? size, string nature) =>
            new(name, kind, size, shape, endsIn, nature) { _dims = dims, _elementType = type };

        if (type != ElementType.Float)
        {
            var text = typeText ?? type.DisplayName();
            return Result(OutputKind.Other, null, $"{("aeiou".Contains(text[0]) ? "an" : "a")} {text} output");
        }
        if (endsIn is null)
        {
            return Result(OutputKind.Other, null, "a value no op computes (a graph input or a constant)");
        }
        var classOp = endsIn == "Softmax" || LogitOps.Contains(endsIn);
        var classKind = endsIn == "Softmax" ? OutputKind.ClassProbabilities : OutputKind.ClassLogits;
        if (dims is null)
        {
            // Softmax or a fully connected layer at the end is a classifier whatever its size; the first run's
            // output shape (Observe) tells how many classes.
            return classOp && endsIn != "Conv"
                ? Result(classKind, null, "class scores for an undeclared number of classes")
                : Result(OutputKind.Other, null, $"an output of undeclared shape from {endsIn}");
        }
        if (dims.Count < 2)
        {
            return Result(OutputKind.Other, null, $"a rank-{dims.Count} output {shape} without a batch axis and a class axis");
        }
        var size = dims[1].Size;
        // A symbolic or unknown spatial size may be anything above 1: only sizes declared as 1 make a vector.
        if (dims.Skip(2).Any(d => d.Size != 1))
        {
            return Result(OutputKind.FeatureMap, size, $"a feature map of shape {shape} (more than one position per channel, not one score per class)");
        }
        if (classOp)
        {
            return Result(classKind, size, size is { } n ? $"class scores for {Classes(n)}" : "class scores for an undeclared number of classes");
        }
        return Result(OutputKind.Embedding, size, size is { } d
            ? $"a {d.ToString(CultureInfo.InvariantCulture)}-d embedding (a feature extractor without a classifier)"
            : "an embedding of undeclared size (a feature extractor without a classifier)");
    }
}
