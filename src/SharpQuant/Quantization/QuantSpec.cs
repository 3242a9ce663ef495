namespace SharpQuant.Quantization;

/// <summary>How the integer grid is placed over the real line.</summary>
public enum QuantScheme
{
    /// <summary>s = max(|lo|, |hi|) / ((qmax − qmin) / 2), zero point 0 (signed) or the midpoint (unsigned); PyTorch's and ONNX Runtime's symmetric.</summary>
    Symmetric,

    /// <summary>s = (hi − lo) / (qmax − qmin), z = qmin − round(lo / s).</summary>
    Affine,

    /// <summary>qmin = −qmax, s = absmax / qmax, z = 0.</summary>
    StrictSymmetric,
}

/// <summary>How a quantizer chooses its range from the values it observes.</summary>
public enum ObserverKind
{
    MinMax,
    MovingAverageMinMax,
    Percentile,
    Mse,
    Entropy,
}

/// <summary>
/// Everything that defines one quantizer: bit width (2–16), signedness, scheme, per-tensor or per-channel (axis),
/// the observer and its options, optional initial scale and zero point, and whether the parameters are learnable.
/// </summary>
public sealed record QuantSpec
{
    public int Bits { get; init; } = 8;
    public bool Signed { get; init; } = true;
    public QuantScheme Scheme { get; init; } = QuantScheme.Symmetric;

    /// <summary>The channel axis for per-channel quantization; null for per-tensor.</summary>
    public int? Axis { get; init; }

    public ObserverKind Observer { get; init; } = ObserverKind.MinMax;

    /// <summary>Percentile observer: the percentile of |x| (or of each tail for affine ranges) that bounds the range.</summary>
    public double Percentile { get; init; } = 99.99;

    /// <summary>Moving-average observer: weight of each new batch's min and max (PyTorch's averaging_constant).</summary>
    public double AveragingConstant { get; init; } = 0.01;

    /// <summary>Histogram observers (percentile, MSE, entropy): number of bins, fixed so memory stays bounded.</summary>
    public int HistogramBins { get; init; } = 2048;

    public float[]? InitialScale { get; init; }
    public int[]? InitialZeroPoint { get; init; }
    public bool Learnable { get; init; }

    /// <summary>LSQ: multiply the scale gradient by 1/√(numel · qmax).</summary>
    public bool GradientScaling { get; init; }

    public bool IsPerChannel => Axis.HasValue;

    public int QMin => Signed
        ? Scheme == QuantScheme.StrictSymmetric ? -((1 << (Bits - 1)) - 1) : -(1 << (Bits - 1))
        : 0;

    public int QMax => Signed ? (1 << (Bits - 1)) - 1 : (1 << Bits) - 1;

    public QuantSpec Validated()
    {
        if (Bits is < 2 or > 16)
        {
            throw new SharpQuantException($"a quantizer needs 2 to 16 bits, not {Bits}");
        }
        if (Scheme == QuantScheme.StrictSymmetric && !Signed)
        {
            throw new SharpQuantException("strict symmetric quantization needs a signed type");
        }
        if (Observer == ObserverKind.Percentile && Percentile is <= 50 or > 100)
        {
            throw new SharpQuantException($"the percentile must be in (50, 100], not {Percentile}");
        }
        return this;
    }

    public string Describe() =>
        $"{(Signed ? "int" : "uint")}{Bits} {Scheme.ToString().ToLowerInvariant()} {(IsPerChannel ? $"per-channel(axis {Axis})" : "per-tensor")} {Observer.ToString().ToLowerInvariant()}{(Learnable ? " learnable" : "")}";

    // Presets that do what the PyTorch tutorial's qconfigs do.

    /// <summary>The tutorial's fake_quant_act: histogram observer, uint8 affine, per tensor.</summary>
    public static QuantSpec FakeQuantAct { get; } = new() { Bits = 8, Signed = false, Scheme = QuantScheme.Affine, Observer = ObserverKind.Entropy };

    /// <summary>The tutorial's fake_quant_weight: per-channel int8 symmetric, min-max.</summary>
    public static QuantSpec FakeQuantWeight { get; } = new() { Bits = 8, Signed = true, Scheme = QuantScheme.Symmetric, Axis = 0, Observer = ObserverKind.MinMax };

    /// <summary>The tutorial's learnable_act(range): uint8 affine, initial scale range/255, zero point 0, learnable with gradient scaling.</summary>
    public static QuantSpec LearnableAct(double range) => new()
    {
        Bits = 8,
        Signed = false,
        Scheme = QuantScheme.Affine,
        Observer = ObserverKind.MovingAverageMinMax,
        InitialScale = [(float)(range / 255.0)],
        InitialZeroPoint = [0],
        Learnable = true,
        GradientScaling = true,
    };

    /// <summary>The tutorial's learnable_weights(channels): per-channel int8 symmetric, initial scale 0.1, learnable with gradient scaling.</summary>
    public static QuantSpec LearnableWeights(int channels) => new()
    {
        Bits = 8,
        Signed = true,
        Scheme = QuantScheme.Symmetric,
        Axis = 0,
        Observer = ObserverKind.MinMax,
        InitialScale = Enumerable.Repeat(0.1f, channels).ToArray(),
        InitialZeroPoint = new int[channels],
        Learnable = true,
        GradientScaling = true,
    };
}
