namespace SharpQuant.Analysis;

/// <summary>Top-1 and top-k accuracy of a model's outputs against integer class labels, accumulated batch by batch.</summary>
public sealed class AccuracyAccumulator
{
    private long _samples;
    private long _top1;
    private long _topK;

    public AccuracyAccumulator(int k = 5)
    {
        if (k < 1)
        {
            throw new SharpQuantException($"top-k accuracy needs k of at least 1, got {k}");
        }
        K = k;
    }

    public int K { get; }

    /// <summary>Adds one output batch and the true class of each of its samples.</summary>
    public void Add(Tensor outputs, ReadOnlySpan<int> labels)
    {
        var samples = TopK.SplitSamples(outputs, out var size);
        if (labels.Length != samples)
        {
            throw new SharpQuantException($"{labels.Length} labels for {samples} samples");
        }
        var data = outputs.Floats;
        for (var n = 0; n < labels.Length; n++)
        {
            var rank = TopK.RankOf(data.Slice((int)(n * size), (int)size), labels[n]);
            _samples++;
            _top1 += rank == 0 ? 1 : 0;
            _topK += rank < K ? 1 : 0;
        }
    }

    public AccuracyReport Report() => new(_samples, _top1, _topK, K);
}
