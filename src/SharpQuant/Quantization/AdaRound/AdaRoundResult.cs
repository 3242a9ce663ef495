namespace SharpQuant.Quantization.AdaRound;

/// <summary>
/// One layer's outcome: the mean reconstruction loss over the calibration samples with nearest rounding and with the
/// learned hard rounding, how many weights round the other way than nearest, whether the layer kept nearest
/// rounding (the learned one reconstructed worse), and the time the layer took.
/// </summary>
public sealed record AdaRoundLayerResult(string Layer, string OpType, long Weights, double NearestLoss, double AdaRoundLoss, long Flipped, bool KeptNearest, TimeSpan Elapsed);

/// <summary>Every layer's result, in graph order, and the total time (tapped runs included).</summary>
public sealed record AdaRoundResult(IReadOnlyList<AdaRoundLayerResult> Layers, IReadOnlyList<string> Skipped, TimeSpan Elapsed);

/// <summary>Reported after each layer: its index (1-based) out of the count, and its result.</summary>
public readonly record struct AdaRoundProgress(int Layer, int Layers, AdaRoundLayerResult Result);
