namespace SharpQuant.Training;

/// <summary>Which quantization parameters fine-tuning learns, of the quantizers whose learning flag is on.</summary>
[Flags]
public enum LearnedParts
{
    None = 0,

    /// <summary>Every learning quantizer's scale (LSQ).</summary>
    Scales = 1,

    /// <summary>The zero points of affine quantizers (LSQ+); symmetric ones keep theirs.</summary>
    ZeroPoints = 2,

    /// <summary>The weights behind learning weight quantizers (LSQ with learnable weights).</summary>
    Weights = 4,
}
