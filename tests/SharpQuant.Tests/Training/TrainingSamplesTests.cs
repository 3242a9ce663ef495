using SharpQuant.Training;

namespace SharpQuant.Tests.Training;

public class TrainingSamplesTests
{
    private static TrainingSamples Samples(int seed, int count)
    {
        var samples = new TrainingSamples(seed);
        // Sample i has inputs [i, i + 0.5] and target [−i]: a batch shows which samples it holds.
        for (var start = 0; start < count; start += 4)
        {
            var n = Math.Min(4, count - start);
            var inputs = Enumerable.Range(start, n).SelectMany(i => new[] { i, i + 0.5f }).ToArray();
            var targets = Enumerable.Range(start, n).Select(i => -(float)i).ToArray();
            samples.Add(Tensor.FromFloats(inputs, n, 2), Tensor.FromFloats(targets, n, 1));
        }
        return samples;
    }

    [Fact]
    public void EachEpochIsAPermutationWithInputsAndTargetsKeptTogether()
    {
        var samples = Samples(seed: 7, count: 10);
        Assert.Equal(10, samples.Count);
        var seen = new List<int>();
        while (seen.Count < 10)
        {
            var (inputs, targets, indices) = samples.Next(4);
            Assert.Equal(1, samples.Epoch);
            var x = inputs.ToArray<float>();
            var t = targets.ToArray<float>();
            for (var i = 0; i < indices.Length; i++)
            {
                Assert.Equal(indices[i], x[2 * i]);
                Assert.Equal(indices[i] + 0.5f, x[2 * i + 1]);
                Assert.Equal(-indices[i], t[i]);
            }
            seen.AddRange(indices);
        }
        Assert.Equal(Enumerable.Range(0, 10), seen.Order());
        Assert.NotEqual(Enumerable.Range(0, 10), seen);
        // The last batch of the epoch held the 2 left over; the next call starts epoch 2.
        samples.Next(4);
        Assert.Equal(2, samples.Epoch);
    }

    [Fact]
    public void SameSeedSameOrderOtherSeedOtherOrder()
    {
        int[] Order(int seed)
        {
            var s = Samples(seed, 12);
            return Enumerable.Range(0, 6).SelectMany(_ => s.Next(4).Indices).ToArray();
        }
        Assert.Equal(Order(3), Order(3));
        Assert.NotEqual(Order(3), Order(4));
    }

    [Fact]
    public void InOrderGivesEverySampleOnce()
    {
        var samples = Samples(1, 9);
        var batches = samples.InOrder(4).ToList();
        Assert.Equal([4L, 4L, 1L], batches.Select(b => b.Inputs.Shape[0]));
        Assert.Equal(Enumerable.Range(0, 9).Select(i => -(float)i), batches.SelectMany(b => b.Targets.ToArray<float>()));
    }

    [Fact]
    public void MismatchedShapesAndEmptySetsAreErrors()
    {
        Assert.Throws<SharpQuantException>(() => new TrainingSamples(0).Next(4));
        var samples = new TrainingSamples(0);
        samples.Add(Tensor.FromFloats(new float[4], 2, 2), Tensor.FromFloats(new float[2], 2, 1));
        Assert.Throws<SharpQuantException>(() => samples.Add(Tensor.FromFloats(new float[3], 1, 3), Tensor.FromFloats(new float[1], 1, 1)));
        Assert.Throws<SharpQuantException>(() => samples.Add(Tensor.FromFloats(new float[4], 2, 2), Tensor.FromFloats(new float[1], 1, 1)));
        Assert.Throws<SharpQuantException>(() => samples.Next(0));
    }
}
