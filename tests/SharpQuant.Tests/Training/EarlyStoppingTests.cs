using SharpQuant.Training;

namespace SharpQuant.Tests.Training;

public class EarlyStoppingTests
{
    [Fact]
    public void SmoothedLossIsTheBiasCorrectedMovingAverage()
    {
        var stopping = new EarlyStopping(patience: 5, smoothing: 0.5);
        stopping.Add(4);
        Assert.Equal(4, stopping.SmoothedLoss, 12);
        stopping.Add(2);
        // (0.5·(0.5·4) + 0.5·2) / (1 − 0.25) = 2 / 0.75
        Assert.Equal(2 / 0.75, stopping.SmoothedLoss, 12);
    }

    [Fact]
    public void StopsAfterPatienceStepsWithoutProgressAndNotBefore()
    {
        var stopping = new EarlyStopping(patience: 3, smoothing: 0);
        Assert.False(stopping.Add(10));
        Assert.False(stopping.Add(9));
        Assert.False(stopping.Add(9));
        Assert.False(stopping.Add(9.5));
        Assert.True(stopping.Add(9));
        Assert.Equal(3, stopping.StepsWithoutImprovement);
        Assert.Equal(9, stopping.BestSmoothedLoss);
    }

    [Fact]
    public void SteadyProgressNeverStops()
    {
        var stopping = new EarlyStopping(patience: 2);
        for (var i = 0; i < 100; i++)
        {
            Assert.False(stopping.Add(Math.Exp(-0.05 * i)));
        }
    }

    [Fact]
    public void NoiseWithoutTrendStops()
    {
        var stopping = new EarlyStopping(patience: 20);
        var rng = new Random(1);
        var steps = 0;
        while (!stopping.Add(1 + 0.1 * rng.NextDouble()) && steps < 1000)
        {
            steps++;
        }
        Assert.True(steps < 200, $"took {steps} steps");
    }

    [Fact]
    public void BadSettingsAndNonFiniteLossesAreErrors()
    {
        Assert.Throws<SharpQuantException>(() => new EarlyStopping(0));
        Assert.Throws<SharpQuantException>(() => new EarlyStopping(3, smoothing: 1));
        Assert.Contains("NaN", Assert.Throws<SharpQuantException>(() => new EarlyStopping(3).Add(double.NaN)).Message);
    }
}
