namespace SharpQuant.Quantization.AdaRound;

/// <summary>Where a layer's reconstruction inputs come from.</summary>
public enum AdaRoundInputs
{
    /// <summary>The simulation as quantized so far: earlier layers AdaRounded and fake-quantized (AIMET's default).</summary>
    Quantized,

    /// <summary>The float model (every FakeQuant off): each layer is solved on the inputs the float model gives it.</summary>
    Float,
}

/// <summary>What a layer's output is reconstructed towards.</summary>
public enum AdaRoundTargets
{
    /// <summary>f(W x): the layer with its float weight on the same inputs the rounded layer sees.</summary>
    SameInputs,

    /// <summary>
    /// The float model's output of the layer (float weights on float inputs; the paper's asymmetric reconstruction and
    /// AIMET's): the rounding also makes up for the error the layers before left in its inputs.
    /// </summary>
    FloatModel,
}

/// <summary>How <see cref="AdaRounder"/> learns the rounding of each layer.</summary>
public sealed record AdaRoundOptions
{
    /// <summary>
    /// Adam steps per layer (one mini-batch each). On ResNet18 w4a8 (bench <c>adaround</c>, 50 calibration crops)
    /// 100 gave an embedding SQNR of 12.198 dB in 331 s and 300 gave 12.200 dB in 646 s (this 2-core machine at load
    /// average ~10): the per-layer losses kept falling, the model's fidelity did not.
    /// </summary>
    public int Iterations { get; init; } = 100;

    /// <summary>Samples per mini-batch (rows of the layer's input).</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Weight of the rounding regularizer λ (AIMET's reg_param).</summary>
    public float Lambda { get; init; } = 0.01f;

    /// <summary>Adam's learning rate for V (V moves in the logit domain of the rectified sigmoid).</summary>
    public float LearningRate { get; init; } = 1e-2f;

    /// <summary>Fraction of the iterations without the regularizer, before β is annealed.</summary>
    public double WarmUp { get; init; } = 0.2;

    /// <summary>β at the end of the warm-up (soft regularizer, pulls gently) ...</summary>
    public float BetaStart { get; init; } = 20f;

    /// <summary>... and at the last iteration (pushes every h(V) to 0 or 1).</summary>
    public float BetaEnd { get; init; } = 2f;

    public AdaRoundInputs Inputs { get; init; } = AdaRoundInputs.Quantized;

    /// <summary>
    /// The float model's outputs by default: on ResNet18 w4a8 (bench <c>adaround</c>, 100 iterations) they took the
    /// embedding SQNR from 0.89 dB (nearest) to 12.20 dB; targets from the same inputs reached 5.65 dB.
    /// </summary>
    public AdaRoundTargets Targets { get; init; } = AdaRoundTargets.FloatModel;

    /// <summary>Seeds the order of the mini-batches: the same seed and data give the same weights, bit for bit.</summary>
    public int Seed { get; init; }

    /// <summary>ONNX Runtime settings of the tapped model runs and of the layer problems.</summary>
    public Runtime.ExecutorOptions? Executor { get; init; }

    internal AdaRoundOptions Validated()
    {
        if (Iterations < 1)
        {
            throw new SharpQuantException($"AdaRound needs at least 1 iteration per layer; got {Iterations}");
        }
        if (BatchSize < 1)
        {
            throw new SharpQuantException($"the AdaRound batch size must be at least 1; got {BatchSize}");
        }
        if (!(Lambda >= 0) || !float.IsFinite(Lambda))
        {
            throw new SharpQuantException($"the AdaRound regularizer weight must be a finite number ≥ 0; got {Lambda}");
        }
        if (!(LearningRate > 0) || !float.IsFinite(LearningRate))
        {
            throw new SharpQuantException($"the AdaRound learning rate must be a finite number > 0; got {LearningRate}");
        }
        if (!(WarmUp >= 0 && WarmUp < 1))
        {
            throw new SharpQuantException($"the AdaRound warm-up must be a fraction in [0, 1); got {WarmUp}");
        }
        if (!(BetaStart >= 1 && BetaEnd >= 1) || !float.IsFinite(BetaStart) || !float.IsFinite(BetaEnd))
        {
            throw new SharpQuantException($"the AdaRound β range must be finite numbers ≥ 1; got {BetaStart} to {BetaEnd}");
        }
        return this;
    }

    /// <summary>
    /// β and whether the regularizer is on at iteration <paramref name="iteration"/> (0-based): off during the warm-up,
    /// then β decays from <see cref="BetaStart"/> to <see cref="BetaEnd"/> on a cosine, as AIMET anneals it.
    /// </summary>
    public (bool Regularized, float Beta) Schedule(int iteration)
    {
        var warm = WarmUp * Iterations;
        if (iteration < warm)
        {
            return (false, BetaStart);
        }
        var span = Math.Max(Iterations - warm, 1);
        var progress = Math.Clamp((iteration - warm) / span, 0, 1);
        return (true, (float)(BetaEnd + (0.5 * (BetaStart - BetaEnd) * (1 + Math.Cos(progress * Math.PI)))));
    }
}
