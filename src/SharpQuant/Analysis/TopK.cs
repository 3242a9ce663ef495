namespace SharpQuant.Analysis;

/// <summary>
/// The k most probable classes of each sample of an output batch. The output is flattened after the batch axis;
/// values that already are a distribution are used as they are, others go through a softmax
/// (<see cref="Probabilities.Of"/>). Equal probabilities keep the lower index first.
/// </summary>
public static class TopK
{
    public static IReadOnlyList<IReadOnlyList<TopKEntry>> Of(Tensor outputs, int k, Labels? labels = null)
    {
        var samples = SplitSamples(outputs, out var size);
        var data = outputs.Floats;
        var result = new List<IReadOnlyList<TopKEntry>>((int)samples);
        for (long n = 0; n < samples; n++)
        {
            result.Add(OfSample(data.Slice((int)(n * size), (int)size), k, labels));
        }
        return result;
    }

    /// <summary>The top k of one flattened sample (fewer when it has fewer than k values).</summary>
    public static IReadOnlyList<TopKEntry> OfSample(ReadOnlySpan<float> values, int k, Labels? labels = null)
    {
        if (k < 1)
        {
            throw new SharpQuantException($"top-k needs k of at least 1, got {k}");
        }
        var probabilities = Probabilities.Of(values);
        // Ordered by the values, not the probabilities: softmax keeps their order, and values far below the
        // maximum, whose probabilities underflow to 0, still rank as RankOf ranks them.
        var raw = values.ToArray();
        return Enumerable.Range(0, raw.Length)
            .OrderByDescending(i => raw[i])
            .ThenBy(i => i)
            .Take(k)
            .Select(i => new TopKEntry(i, (float)probabilities[i], labels?[i]))
            .ToList();
    }

    /// <summary>The entries one per line, as the PyTorch tutorial prints them.</summary>
    public static string Format(IEnumerable<TopKEntry> entries) => string.Concat(entries.Select(e => e + "\n"));

    /// <summary>
    /// The rank of class <paramref name="index"/> in the sample, 0 for the most probable, in the order
    /// <see cref="OfSample"/> uses (softmax keeps the order of the values, so no probabilities are needed).
    /// </summary>
    public static int RankOf(ReadOnlySpan<float> values, int index)
    {
        if (index < 0 || index >= values.Length)
        {
            throw new SharpQuantException($"class {index} is outside the output's {values.Length} classes");
        }
        var rank = 0;
        var v = values[index];
        for (var i = 0; i < values.Length; i++)
        {
            if (values[i] > v || (values[i] == v && i < index))
            {
                rank++;
            }
        }
        return rank;
    }

    internal static long SplitSamples(Tensor outputs, out long size)
    {
        if (outputs.ElementType != ElementType.Float)
        {
            throw new SharpQuantException($"top-k reads float32 outputs, not {outputs.ElementType.DisplayName()}");
        }
        var samples = outputs.Rank == 0 ? 1 : outputs.Shape[0];
        size = samples == 0 ? 0 : outputs.ElementCount / samples;
        return samples;
    }
}
