namespace SharpQuant.Training;

/// <summary>What fine-tuning did: the loss over the whole training set before and after, and every step's loss.</summary>
public sealed record FineTuneResult(
    double InitialLoss,
    double FinalLoss,
    int Steps,
    int Epochs,
    bool StoppedEarly,
    IReadOnlyList<double> StepLosses,
    int LearnedTensors,
    long LearnedValues,
    TimeSpan Elapsed);
