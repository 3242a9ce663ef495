namespace SharpQuant.Training;

/// <summary>
/// A forward graph with a distillation loss appended in ordinary ONNX ops, so that Autodiff can differentiate it:
/// its first output is the scalar <see cref="LossName"/>, and the float model's side enters through the extra graph
/// inputs <see cref="TargetInputs"/> (computed in C# by <see cref="Targets"/> from the float model's logits).
/// <list type="bullet">
/// <item>MSE: mean over all elements of (z − t)², with t the float logits.</item>
/// <item>KL: T² · (1/N) Σₙ Σ_c p_c (log p_c − log q_c), with p = softmax(t/T) and log p fed as inputs (so p = 0 costs
/// nothing) and q = softmax(z/T) computed in the graph; written as ReduceMean over the N·C elements times C·T².
/// The T² keeps the gradient's size independent of the temperature, as in Hinton et al. (2015).</item>
/// </list>
/// </summary>
public sealed class DistillationLoss
{
    /// <summary>The name of the scalar loss value.</summary>
    public const string LossName = "distillation_loss";

    public const string TargetName = "distillation_target";
    public const string TargetLogName = "distillation_target_log";

    private DistillationLoss(Graph graph, DistillationLossKind kind, float temperature, string logitsName)
    {
        Graph = graph;
        Kind = kind;
        Temperature = temperature;
        LogitsName = logitsName;
    }

    /// <summary>A copy of the forward graph whose output is the loss.</summary>
    public Graph Graph { get; }

    public DistillationLossKind Kind { get; }
    public float Temperature { get; }

    /// <summary>The value compared: the input of the final Softmax, or the first output when there is none.</summary>
    public string LogitsName { get; }

    public IReadOnlyList<string> TargetInputs => Kind == DistillationLossKind.Mse ? [TargetName] : [TargetName, TargetLogName];

    /// <summary>
    /// The logits of a model: the input of the Softmax that produces its first output (classifiers exported with
    /// their Softmax, as ppocr-cls), else the first output. Saturated probabilities give almost no gradient.
    /// </summary>
    public static Value LogitsOf(Graph graph)
    {
        var output = graph.Outputs.Count > 0 ? graph.Outputs[0] : throw new SharpQuantException("the model has no output to distill");
        return output.Producer is { OpType: "Softmax" or "LogSoftmax", IsStandardOnnx: true } softmax ? softmax.Input(0) : output;
    }

    /// <summary>Appends the loss to a copy of <paramref name="forward"/> (for example a QuantSim's graph).</summary>
    public static DistillationLoss Append(Graph forward, DistillationLossKind kind, float temperature = 1f)
    {
        if (!(temperature > 0) || !float.IsFinite(temperature))
        {
            throw new SharpQuantException($"the distillation temperature must be positive; got {temperature}");
        }
        var graph = forward.Clone();
        var logits = LogitsOf(graph);
        // Imported graphs may leave intermediate shapes out; a Softmax keeps the shape of its input.
        var shape = logits.Shape ?? graph.Outputs[0].Shape;
        var target = graph.AddInput(TargetName, ElementType.Float, shape);
        Value loss;
        if (kind == DistillationLossKind.Mse)
        {
            var difference = Add(graph, "Sub", "distillation.sub", shape, [logits, target]);
            var squared = Add(graph, "Mul", "distillation.square", shape, [difference, difference]);
            loss = Add(graph, "ReduceMean", "distillation.mean", [], [squared], KeepNoDimensions());
        }
        else
        {
            if (shape is null || shape.Count != 2 || shape[1].Size is not { } classes)
            {
                throw new SharpQuantException(
                    $"KL distillation needs logits of shape [N, classes] with a known number of classes; '{logits.Name}' has shape {Shapes.Format(shape)}");
            }
            var targetLog = graph.AddInput(TargetLogName, ElementType.Float, shape);
            var inverseTemperature = graph.AddConstant("distillation.inverse_temperature", Tensor.Scalar(1f / temperature));
            var scaled = Add(graph, "Mul", "distillation.scale", shape, [logits, inverseTemperature]);
            var softmax = Add(graph, "Softmax", "distillation.softmax", shape, [scaled], new() { ["axis"] = AttributeValue.Of(1L) });
            var log = Add(graph, "Log", "distillation.log", shape, [softmax]);
            var difference = Add(graph, "Sub", "distillation.sub", shape, [targetLog, log]);
            var weighted = Add(graph, "Mul", "distillation.weight", shape, [target, difference]);
            var mean = Add(graph, "ReduceMean", "distillation.mean", [], [weighted], KeepNoDimensions());
            var factor = graph.AddConstant("distillation.classes_t2", Tensor.Scalar((float)(classes * (double)temperature * temperature)));
            loss = Add(graph, "Mul", "distillation.kl", [], [mean, factor]);
        }
        loss.Shape = [];
        graph.RenameValue(loss, LossName);
        // The loss takes the first output's place; any other outputs stay (the graph has no way to drop one).
        graph.SetOutput(0, loss);
        graph.RemoveUnused();
        graph.Validate();
        return new DistillationLoss(graph, kind, temperature, logits.Name);
    }

    /// <summary>The extra inputs for a batch, from the float model's logits for it.</summary>
    public IReadOnlyDictionary<string, Tensor> Targets(Tensor floatLogits)
    {
        if (Kind == DistillationLossKind.Mse)
        {
            return new Dictionary<string, Tensor> { [TargetName] = floatLogits };
        }
        var (probabilities, logProbabilities) = SoftmaxAtTemperature(floatLogits, Temperature);
        return new Dictionary<string, Tensor> { [TargetName] = probabilities, [TargetLogName] = logProbabilities };
    }

    /// <summary>softmax(z/T) and log softmax(z/T) along the last axis of [N, C] logits, in double, stored as float.</summary>
    public static (Tensor Probabilities, Tensor LogProbabilities) SoftmaxAtTemperature(Tensor logits, float temperature)
    {
        if (logits.Rank != 2)
        {
            throw new SharpQuantException($"softmax targets need [N, classes] logits; got {Shapes.Format(logits.Shape)}");
        }
        var (n, c) = ((int)logits.Shape[0], (int)logits.Shape[1]);
        var z = logits.Floats;
        var p = new float[n * c];
        var lp = new float[n * c];
        for (var i = 0; i < n; i++)
        {
            var row = z.Slice(i * c, c);
            var max = double.NegativeInfinity;
            foreach (var v in row)
            {
                max = Math.Max(max, v / (double)temperature);
            }
            var sum = 0.0;
            foreach (var v in row)
            {
                sum += Math.Exp(v / (double)temperature - max);
            }
            var logSum = Math.Log(sum);
            for (var j = 0; j < c; j++)
            {
                var logP = row[j] / (double)temperature - max - logSum;
                lp[i * c + j] = (float)logP;
                p[i * c + j] = (float)Math.Exp(logP);
            }
        }
        return (Tensor.FromFloats(p, n, c), Tensor.FromFloats(lp, n, c));
    }

    private static Dictionary<string, AttributeValue> KeepNoDimensions() => new() { ["keepdims"] = AttributeValue.Of(0L) };

    /// <summary>Adds a node whose output has <paramref name="shape"/>: the opset upgrade of Softmax needs ranks.</summary>
    private static Value Add(Graph graph, string op, string name, IReadOnlyList<Dim>? shape, Value[] inputs, Dictionary<string, AttributeValue>? attributes = null)
    {
        var node = graph.AddNode(op, inputs, moduleName: name, attributes: attributes);
        node.Output.ElementType = ElementType.Float;
        node.Output.Shape = shape;
        return node.Output;
    }
}
