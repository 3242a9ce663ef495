namespace SharpQuant.Tests.Support;

/// <summary>Numeric comparisons used across tests.</summary>
public static class Compare
{
    /// <summary>max|a − b| / max|b|: the relative error the float-preserving passes are held to.</summary>
    public static double RelativeMaxError(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        double maxDiff = 0, maxRef = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.False(float.IsNaN(actual[i]) || float.IsInfinity(actual[i]), $"non-finite output at {i}: {actual[i]}");
            maxDiff = Math.Max(maxDiff, Math.Abs(actual[i] - expected[i]));
            maxRef = Math.Max(maxRef, Math.Abs(expected[i]));
        }
        return maxRef == 0 ? maxDiff : maxDiff / maxRef;
    }

    public static void BitwiseEqual(Tensor actual, Tensor expected)
    {
        Assert.Equal(expected.ElementType, actual.ElementType);
        Assert.Equal(expected.Shape, actual.Shape);
        if (!expected.Bytes.SequenceEqual(actual.Bytes))
        {
            var e = expected.ElementType == ElementType.Float ? expected.ToArray<float>() : null;
            var a = actual.ElementType == ElementType.Float ? actual.ToArray<float>() : null;
            var i = e is null ? -1 : Enumerable.Range(0, e.Length).First(k => BitConverter.SingleToInt32Bits(e[k]) != BitConverter.SingleToInt32Bits(a![k]));
            Assert.Fail(i < 0 ? "tensors differ" : $"tensors differ first at element {i}: expected {e![i]:R}, actual {a![i]:R}");
        }
    }

    /// <summary>
    /// Every element equal as a float value (== in IEEE terms, so +0 equals −0: ONNX Runtime may skip adding a zero
    /// point of 0 and leave the sign of a zero result unchanged).
    /// </summary>
    public static void ExactlyEqual(Tensor actual, Tensor expected)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        var e = expected.Floats;
        var a = actual.Floats;
        for (var i = 0; i < e.Length; i++)
        {
            if (a[i] != e[i])
            {
                Assert.Fail($"element {i}: expected {e[i]:R}, actual {a[i]:R}");
            }
        }
    }

    /// <summary>Deterministic pseudo-random floats in [lo, hi).</summary>
    public static Tensor RandomTensor(int seed, float lo, float hi, params long[] shape)
    {
        var random = new Random(seed);
        var data = new float[Shapes.ElementCount(shape)];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = lo + (float)random.NextDouble() * (hi - lo);
        }
        return Tensor.FromFloats(data, shape);
    }
}
