using SharpQuant.Training;

namespace SharpQuant.Tests.Training;

public class AdamTests
{
    [Fact]
    public void FirstStepMovesEachValueByTheLearningRateAgainstItsGradientSign()
    {
        // Step 1: m̂ = g and v̂ = g², so the step is lr · g / (|g| + ε).
        var adam = new Adam();
        float[] values = [1f, -3f, 0.5f];
        adam.Update("p", values, [2f, -0.25f, 0f], 0.1f);
        Assert.Equal(1f - 0.1f * (2f / (2f + 1e-8f)), values[0]);
        Assert.Equal(0.9f, values[0], 6);
        Assert.Equal(-2.9f, values[1], 6);
        Assert.Equal(0.5f, values[2]);
        Assert.Equal(1, adam.Steps("p"));
    }

    [Fact]
    public void SecondStepMatchesTheHandComputedBiasCorrectedUpdate()
    {
        // By hand: g = 2 then −1, lr = 0.1. Step 2: m = 0.9·0.2 − 0.1 = 0.08, v = 0.999·0.004 + 0.001 = 0.004996,
        // m̂ = 0.08 / 0.19 = 0.4210526, v̂ = 0.004996 / 0.001999 = 2.4992496, step = 0.1·0.4210526 / 1.5809015 = 0.0266337, still downwards (m > 0).
        var adam = new Adam();
        float[] values = [1f];
        adam.Update("p", values, [2f], 0.1f);
        adam.Update("p", values, [-1f], 0.1f);
        Assert.Equal(0.9 - 0.0266337, values[0], 6);
    }

    [Fact]
    public void ManyStepsFollowTheTextbookFormulaInDouble()
    {
        var options = new AdamOptions { Beta1 = 0.8f, Beta2 = 0.99f, Epsilon = 1e-6f };
        var adam = new Adam(options);
        float[] values = [0.3f, -1.2f];
        double[] reference = [0.3, -1.2];
        double[] m = [0, 0], v = [0, 0];
        var rng = new Random(5);
        for (var t = 1; t <= 50; t++)
        {
            float[] g = [(float)(rng.NextDouble() - 0.3), (float)(rng.NextDouble() * 4 - 2)];
            adam.Update("w", values, g, 0.05f);
            for (var i = 0; i < 2; i++)
            {
                m[i] = 0.8 * m[i] + 0.2 * g[i];
                v[i] = 0.99 * v[i] + 0.01 * g[i] * (double)g[i];
                var mHat = m[i] / (1 - Math.Pow(0.8, t));
                var vHat = v[i] / (1 - Math.Pow(0.99, t));
                reference[i] -= 0.05 * mHat / (Math.Sqrt(vHat) + 1e-6);
            }
        }
        Assert.Equal(reference[0], values[0], 5);
        Assert.Equal(reference[1], values[1], 5);
    }

    [Fact]
    public void ParametersKeepSeparateMomentsAndStepCounts()
    {
        var adam = new Adam();
        float[] a = [0f], b = [0f];
        adam.Update("a", a, [1f], 0.1f);
        adam.Update("a", a, [1f], 0.1f);
        adam.Update("b", b, [1f], 0.1f);
        Assert.Equal(2, adam.Steps("a"));
        Assert.Equal(1, adam.Steps("b"));
        Assert.Equal(-0.1f, b[0], 6);
        Assert.Equal(-0.2f, a[0], 6);
    }

    [Fact]
    public void MismatchedGradientIsRejected()
    {
        var adam = new Adam();
        Assert.Throws<ArgumentException>(() => adam.Update("p", new float[2], new float[3], 0.1f));
        adam.Update("q", new float[2], new float[2], 0.1f);
        Assert.Throws<ArgumentException>(() => adam.Update("q", new float[3], new float[3], 0.1f));
    }
}
