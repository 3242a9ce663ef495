namespace SharpQuant.Data;

/// <summary>Which part of an <see cref="ImageSplit"/> to use.</summary>
public enum ImageSet
{
    /// <summary>The images at even positions in name order, for calibrating quantizers.</summary>
    Calibration,

    /// <summary>The images at odd positions in name order, never seen by calibration.</summary>
    Evaluation,

    /// <summary>Both parts.</summary>
    All,
}
