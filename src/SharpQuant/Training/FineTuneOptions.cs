namespace SharpQuant.Training;

/// <summary>How <see cref="FineTuner"/> trains. The defaults are the ones measured on ppocr-cls w4a8 (README).</summary>
public sealed record FineTuneOptions
{
    /// <summary>The most optimizer steps (one mini-batch each); early stopping may end sooner.</summary>
    public int Steps { get; init; } = 200;

    public int BatchSize { get; init; } = 16;

    /// <summary>Seeds the order of the mini-batches: the same seed and data give the same result, bit for bit.</summary>
    public int Seed { get; init; }

    public LearnedParts Learn { get; init; } = LearnedParts.Scales;

    public DistillationLossKind Loss { get; init; } = DistillationLossKind.Mse;

    /// <summary>The softmax temperature of the KL loss.</summary>
    public float Temperature { get; init; } = 1f;

    /// <summary>Adam's learning rate for scales, relative to each scale (see <see cref="FineTuner"/>).</summary>
    public float ScaleLearningRate { get; init; } = 1e-2f;

    /// <summary>Adam's learning rate for zero points, in integer steps.</summary>
    public float ZeroPointLearningRate { get; init; } = 1e-1f;

    /// <summary>Adam's learning rate for weights, relative to each weight tensor's step size (its scale).</summary>
    public float WeightLearningRate { get; init; } = 1e-2f;

    public AdamOptions Adam { get; init; } = new();

    /// <summary>Early stop after this many steps without progress of the smoothed loss; 0 turns early stopping off.</summary>
    public int Patience { get; init; } = 40;

    public double LossSmoothing { get; init; } = EarlyStopping.DefaultSmoothing;

    public double MinRelativeImprovement { get; init; } = EarlyStopping.DefaultMinRelativeImprovement;

    /// <summary>ONNX Runtime settings of the float model and of the gradient graph.</summary>
    public Runtime.ExecutorOptions? Executor { get; init; }

    internal FineTuneOptions Validated()
    {
        if (Steps < 1)
        {
            throw new SharpQuantException($"fine-tuning needs at least 1 step; got {Steps}");
        }
        if (BatchSize < 1)
        {
            throw new SharpQuantException($"the batch size must be at least 1; got {BatchSize}");
        }
        if (Patience < 0)
        {
            throw new SharpQuantException($"the early-stop patience cannot be negative; got {Patience}");
        }
        foreach (var (name, rate) in new[] { ("scale", ScaleLearningRate), ("zero-point", ZeroPointLearningRate), ("weight", WeightLearningRate) })
        {
            if (!(rate >= 0) || !float.IsFinite(rate))
            {
                throw new SharpQuantException($"the {name} learning rate must be a finite number ≥ 0; got {rate}");
            }
        }
        return this;
    }
}
