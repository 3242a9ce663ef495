namespace SharpQuant.Data;

/// <summary>A batch of preprocessed text lines [B, 3, 48, 192] with their class indices (0 upright, 1 turned by 180°).</summary>
public sealed record TextBatch(Tensor Images, int[] Labels);
