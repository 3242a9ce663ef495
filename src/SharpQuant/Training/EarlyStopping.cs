namespace SharpQuant.Training;

/// <summary>
/// Stops training when the loss stalls: the loss of each step is smoothed with an exponential moving average
/// (bias-corrected as Adam's moments are, so the first steps are not pulled towards 0), and training stops once the
/// smoothed loss has not fallen below (1 − <see cref="MinRelativeImprovement"/>) × its best value for
/// <see cref="Patience"/> steps in a row. Mini-batch losses are noisy; the smoothing keeps one lucky batch from
/// counting as progress.
/// </summary>
public sealed class EarlyStopping
{
    private double _average;
    private int _steps;

    public EarlyStopping(int patience, double smoothing = DefaultSmoothing, double minRelativeImprovement = DefaultMinRelativeImprovement)
    {
        if (patience < 1)
        {
            throw new SharpQuantException($"early-stop patience must be at least 1 step; got {patience}");
        }
        if (smoothing is < 0 or >= 1)
        {
            throw new SharpQuantException($"loss smoothing must be in [0, 1); got {smoothing}");
        }
        if (minRelativeImprovement is < 0 or >= 1)
        {
            throw new SharpQuantException($"the minimum relative improvement must be in [0, 1); got {minRelativeImprovement}");
        }
        Patience = patience;
        Smoothing = smoothing;
        MinRelativeImprovement = minRelativeImprovement;
    }

    /// <summary>The weight of the previous average: 0.9 averages over about the last 10 steps.</summary>
    public const double DefaultSmoothing = 0.9;

    /// <summary>A 0.1 % fall of the smoothed loss counts as progress.</summary>
    public const double DefaultMinRelativeImprovement = 1e-3;

    public int Patience { get; }
    public double Smoothing { get; }
    public double MinRelativeImprovement { get; }

    /// <summary>The smoothed loss after the last step (NaN before the first).</summary>
    public double SmoothedLoss { get; private set; } = double.NaN;

    public double BestSmoothedLoss { get; private set; } = double.PositiveInfinity;

    /// <summary>Steps since the smoothed loss last improved.</summary>
    public int StepsWithoutImprovement { get; private set; }

    public bool ShouldStop => StepsWithoutImprovement >= Patience;

    /// <summary>Adds one step's loss; returns true when training should stop.</summary>
    public bool Add(double loss)
    {
        if (!double.IsFinite(loss))
        {
            throw new SharpQuantException($"the training loss became {loss}; lower the learning rate");
        }
        _steps++;
        _average = Smoothing * _average + (1 - Smoothing) * loss;
        SmoothedLoss = _average / (1 - Math.Pow(Smoothing, _steps));
        if (SmoothedLoss < BestSmoothedLoss * (1 - MinRelativeImprovement))
        {
            BestSmoothedLoss = SmoothedLoss;
            StepsWithoutImprovement = 0;
        }
        else
        {
            StepsWithoutImprovement++;
        }
        return ShouldStop;
    }
}
