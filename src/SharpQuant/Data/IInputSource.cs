using SharpQuant.Runtime;

namespace SharpQuant.Data;

/// <summary>
/// Batches of named model inputs for calibration and evaluation, streamed one batch at a time: images through a
/// preset (<see cref="ImageSource"/>), tensor files (<see cref="TensorFiles"/>), or any other sequence.
/// </summary>
public interface IInputSource
{
    /// <summary>One pass over the data; each pass starts from the beginning.</summary>
    IEnumerable<InputBatch> Batches();

    /// <summary>Batches per pass, for progress bars.</summary>
    int ExpectedBatches { get; }

    /// <summary>The names of the samples of the last pass, in batch order.</summary>
    IReadOnlyList<string> Samples { get; }

    /// <summary>Files left out of the last pass, with the reason.</summary>
    IReadOnlyList<SkippedImage> Skipped { get; }

    /// <summary>What the last pass used, with its counts.</summary>
    string Describe();
}
