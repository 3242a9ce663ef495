namespace SharpQuant.Passes;

/// <summary>How the range of a weight channel is measured for equalization.</summary>
public enum RangeMode
{
    /// <summary>max |w| over the channel, as in the DFQ paper (Nagel et al. 2019).</summary>
    MaxAbs,

    /// <summary>max(w) − min(w) over the channel, as PyTorch's torch.ao.quantization._equalize.</summary>
    MaxMin,
}
