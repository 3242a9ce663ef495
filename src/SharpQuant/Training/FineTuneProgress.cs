namespace SharpQuant.Training;

/// <summary>Progress of fine-tuning after an optimizer step: the mini-batch loss and its smoothed value.</summary>
public readonly record struct FineTuneProgress(int Step, int TotalSteps, int Epoch, double Loss, double SmoothedLoss);
