namespace SharpQuant.Analysis;

/// <summary>How a <see cref="QuantGridHistogram"/> is read: weights on the integer scale w/s + z, activations on their value scale.</summary>
public enum QuantGridAxis
{
    /// <summary>Integer units w/s + z: every channel of a per-channel weight lands on the same grid, so one histogram holds them all.</summary>
    Integer,

    /// <summary>The tensor's own values; the grid is (q − z)·s of the one per-tensor scale and zero point.</summary>
    Value,
}
