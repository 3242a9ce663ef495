using SharpQuant.Analysis;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Analysis;

public class FidelityTests
{
    private static FidelityReport Of(float[] reference, float[] candidate, params long[] shape)
    {
        var accumulator = new FidelityAccumulator();
        accumulator.Add(Tensor.FromFloats(reference, shape), Tensor.FromFloats(candidate, shape));
        return accumulator.Report();
    }

    [Fact]
    public void CosineOfKnownVectors()
    {
        // [1,2,3]·[3,2,1] = 10, both norms √14: cosine 10/14. [1,0] vs [1,1]: 1/√2.
        var r = Of([1, 2, 3, 1, 0, 0], [3, 2, 1, 1, 1, 0], 2, 3);
        Assert.Equal(2, r.Samples);
        Assert.Equal(3, r.SampleSize);
        Assert.Equal((10.0 / 14 + 1 / Math.Sqrt(2)) / 2, r.MeanCosine, 12);
        Assert.Equal(1 / Math.Sqrt(2), r.MinCosine, 12);
        // Σy² = 14 + 1 = 15, Σ(y−ŷ)² = 4 + 0 + 4 + 0 + 1 + 0 = 9.
        Assert.Equal(10 * Math.Log10(15.0 / 9), r.SqnrDb, 12);
        Assert.Equal(2, r.MaxAbsDiff);
    }

    [Fact]
    public void SqnrOfAKnownNoise()
    {
        // Signal 3² + 4² = 25, noise 0.5² = 0.25: a power ratio of 100, 20 dB.
        var r = Of([3, 4], [3, 4.5f], 1, 2);
        Assert.Equal(20, r.SqnrDb, 12);
        Assert.Equal(0.5, r.MaxAbsDiff);
    }

    [Fact]
    public void KlOfKnownDistributions()
    {
        // P = [1/4, 3/4], Q = [1/2, 1/2]: KL = 1/4·ln(1/2) + 3/4·ln(3/2) nats.
        var expected = 0.25 * Math.Log(0.5) + 0.75 * Math.Log(1.5);
        Assert.Equal(0.130812035941137, expected, 12);

        // Logits: softmax([0, ln 3]) = [1/4, 3/4], softmax([0, 0]) = [1/2, 1/2].
        var logits = Of([0, MathF.Log(3)], [0, 0], 1, 2);
        Assert.Equal(expected, logits.MeanKl!.Value, 6);
        Assert.Equal(0, logits.ProbabilitySamples);

        // Probabilities already: used as they are (a softmax of [0.25, 0.75] would give KL ≈ 0.0155).
        var probabilities = Of([0.25f, 0.75f], [0.5f, 0.5f], 1, 2);
        Assert.Equal(expected, probabilities.MeanKl!.Value, 6);
        Assert.Equal(1, probabilities.ProbabilitySamples);

        // A candidate probability rounded to 0 costs a large but finite term (floored at 1e-7).
        var zero = Of([0.5f, 0.5f], [1f, 0f], 1, 2);
        Assert.Equal(0.5 * Math.Log(0.5 / 1) + 0.5 * Math.Log(0.5 / FidelityAccumulator.ProbabilityFloor), zero.MeanKl!.Value, 6);

        // The floor does not make equal distributions diverge below 0 where a probability is under it (1e-9 here:
        // its term alone is 1e-9·ln(1e-9 / 1e-7) < 0).
        Assert.Equal(0, Of([1f, 1e-9f], [1f, 1e-9f], 1, 2).MeanKl);
    }

    [Fact]
    public void Top1AgreementCountsSamplesWithTheSameArgMax()
    {
        // Sample 0 agrees (index 2), sample 1 does not (0 vs 1), sample 2 agrees (index 0, ties keep the first).
        var r = Of(
            [0.1f, 0.2f, 0.9f, 5f, 1f, 0f, 2f, 2f, 0f],
            [0.0f, 0.1f, 0.3f, 1f, 4f, 0f, 7f, 7f, 1f], 3, 3);
        Assert.Equal(2, r.Top1Agreements);
        Assert.Equal(2.0 / 3, r.Top1Agreement!.Value, 12);
    }

    [Fact]
    public void BackboneOutputsAreFlattenedPerSample()
    {
        // [N, 4, 1, 1], as a 1×1-conv classifier head gives class scores: the arg-max runs over the 4 channels.
        var r = Of([0, 3, 1, 2, 9, 0, 0, 1], [0, 2, 1, 1, 0, 0, 0, 1], 2, 4, 1, 1);
        Assert.Equal(4, r.SampleSize);
        Assert.Equal(1, r.Top1Agreements);
    }

    [Fact]
    public void IdenticalOutputsHaveCosineOneAndInfiniteSqnr()
    {
        var t = Compare.RandomTensor(3, -2f, 2f, 4, 10);
        var accumulator = new FidelityAccumulator();
        accumulator.Add(t, t.Clone());
        var r = accumulator.Report();
        Assert.Equal(1, r.MeanCosine, 12);
        Assert.Equal(double.PositiveInfinity, r.SqnrDb);
        Assert.Equal(4, r.Top1Agreements);
        Assert.Equal(0, r.MeanKl);
        Assert.Equal(0, r.MaxAbsDiff);
    }

    [Fact]
    public void ZeroReferenceVectors()
    {
        // Both zero: identical, cosine 1 and no noise. Only the reference zero: cosine 0, and with no signal at all
        // the SQNR is −∞.
        var both = Of([0, 0], [0, 0], 1, 2);
        Assert.Equal(1, both.MeanCosine);
        Assert.Equal(double.PositiveInfinity, both.SqnrDb);
        var one = Of([0, 0], [1, 0], 1, 2);
        Assert.Equal(0, one.MeanCosine);
        Assert.Equal(double.NegativeInfinity, one.SqnrDb);
        Assert.Equal(1, one.MaxAbsDiff);
    }

    [Fact]
    public void StreamingEqualsOneShot()
    {
        var reference = Compare.RandomTensor(11, -3f, 3f, 6, 2, 5);
        var candidate = Compare.RandomTensor(12, -3f, 3f, 6, 2, 5);
        var oneShot = new FidelityAccumulator();
        oneShot.Add(reference, candidate);
        var streamed = new FidelityAccumulator();
        var start = 0;
        foreach (var size in new[] { 2, 3, 1 })
        {
            streamed.Add(Slice(reference, start, size), Slice(candidate, start, size));
            start += size;
        }
        Assert.Equal(oneShot.Report(), streamed.Report());
        Assert.Equal(6, streamed.Report().Samples);
    }

    [Fact]
    public void MismatchedShapesNameBoth()
    {
        var accumulator = new FidelityAccumulator();
        var e = Assert.Throws<SharpQuantException>(() => accumulator.Add(Tensor.FromFloats(new float[4], 1, 4), Tensor.FromFloats(new float[4], 2, 2)));
        Assert.Equal("the candidate output has shape [2, 2], the reference output [1, 4]", e.Message);
        accumulator.Add(Tensor.FromFloats(new float[4], 1, 4), Tensor.FromFloats(new float[4], 1, 4));
        e = Assert.Throws<SharpQuantException>(() => accumulator.Add(Tensor.FromFloats(new float[3], 1, 3), Tensor.FromFloats(new float[3], 1, 3)));
        Assert.Contains("a sample of 3 values follows samples of 4 values", e.Message);
    }

    [Fact]
    public void TopKAppliesSoftmaxToLogitsAndKeepsProbabilities()
    {
        var labels = Labels.Parse(["a", "b", "c", "d"], "test");
        // Logits ln 1..ln 4 give probabilities 0.1, 0.2, 0.3, 0.4.
        var logits = Tensor.FromFloats([0, MathF.Log(2), MathF.Log(3), MathF.Log(4), 0.1f, 0.2f, 0.3f, 0.4f], 2, 4);
        var top = TopK.Of(logits, 2, labels);
        Assert.Equal(2, top.Count);
        Assert.Equal([3, 2], top[0].Select(e => e.Index));
        Assert.Equal(0.4f, top[0][0].Probability, 6);
        Assert.Equal(0.3f, top[0][1].Probability, 6);
        Assert.Equal("d", top[0][0].Label);
        // The second sample sums to 1: taken as probabilities, not softmaxed again.
        Assert.Equal(0.4f, top[1][0].Probability);
        Assert.Equal("d 0.4000000059604645\nc 0.30000001192092896\n", TopK.Format(top[1]));
        Assert.Equal([3, 2, 1, 0], TopK.OfSample([0.1f, 0.2f, 0.3f, 0.4f], 10).Select(e => e.Index));
    }

    [Fact]
    public void TopKEntryPrintsAsThePyTorchTutorial()
    {
        Assert.Equal("Samoyed 0.8846225142478943", new TopKEntry(258, 0.8846225142478943f, "Samoyed").ToString());
        // Python prints small floats with a lower-case exponent: repr(float(np.float32(1e-5))).
        Assert.Equal("7 9.999999747378752e-06", new TopKEntry(7, 1e-5f, null).ToString());
    }

    [Fact]
    public void LabelsReadPlainAndIndexedFiles()
    {
        using var temp = TestData.NewTempFolder();
        File.WriteAllText(temp.File("plain.txt"), "tench\ngoldfish\ngreat white shark\n\n");
        var plain = Labels.Load(temp.File("plain.txt"));
        Assert.Equal(3, plain.Count);
        Assert.Equal("great white shark", plain[2]);
        Assert.Null(plain[3]);

        File.WriteAllText(temp.File("indexed.txt"), "0 tench\n258 Samoyed\n2: great white shark\n");
        var indexed = Labels.Load(temp.File("indexed.txt"));
        Assert.Equal(259, indexed.Count);
        Assert.Equal("Samoyed", indexed[258]);
        Assert.Equal("great white shark", indexed[2]);
        Assert.Null(indexed[1]);

        // PaddleOCR's orientation labels are numbers alone: one label per line.
        var ppocr = Labels.Parse(["0", "180"], "ppocr");
        Assert.Equal("180", ppocr[1]);

        Assert.Contains("index 3 is labelled twice", Assert.Throws<SharpQuantException>(() => Labels.Parse(["3 a", "3 b"], "x")).Message);
        Assert.Contains("line 2 is empty", Assert.Throws<SharpQuantException>(() => Labels.Parse(["a", "", "b"], "x")).Message);
        Assert.Contains("does not exist", Assert.Throws<SharpQuantException>(() => Labels.Load(temp.File("none.txt"))).Message);
    }

    [Fact]
    public void AccuracyCountsTop1AndTopK()
    {
        var outputs = Tensor.FromFloats([0.1f, 0.5f, 0.4f, 0.3f, 0.3f, 0.4f, 1f, 0f, 0f], 3, 3);
        var accuracy = new AccuracyAccumulator(k: 2);
        // Label 2 ranks second; label 1 ties with index 0, which ranks first, so it is third; label 0 ranks first.
        accuracy.Add(outputs, [2, 1, 0]);
        var r = accuracy.Report();
        Assert.Equal(new AccuracyReport(3, 1, 2, 2), r);
        Assert.Equal(1.0 / 3, r.Top1, 12);
        Assert.Equal(2.0 / 3, r.TopK, 12);
    }

    private static Tensor Slice(Tensor t, int start, int count)
    {
        var per = (int)(t.ElementCount / t.Shape[0]);
        var shape = t.Shape.ToArray();
        shape[0] = count;
        return Tensor.FromFloats(t.Floats.Slice(start * per, count * per).ToArray(), shape);
    }
}
