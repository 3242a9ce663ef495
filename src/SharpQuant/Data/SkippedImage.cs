namespace SharpQuant.Data;

/// <summary>An image file that gave no sample, and why (the one-line message of the failure).</summary>
public sealed record SkippedImage(string File, string Reason);
