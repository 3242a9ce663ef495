namespace SharpQuant.Quantization;

/// <summary>Scale and zero point of a quantizer: one of each per tensor, or one per channel along <see cref="Axis"/>.</summary>
public sealed record QParams(float[] Scale, int[] ZeroPoint, int? Axis, int QMin, int QMax)
{
    public bool IsPerChannel => Axis.HasValue;
    public int Count => Scale.Length;
}
