namespace SharpQuant.Analysis;

/// <summary>What a model's output holds, as far as its graph tells (see <see cref="ModelOutput"/>).</summary>
public enum OutputKind
{
    /// <summary>One unnormalized score per class ([N, C] or [N, C, 1, 1]), from a fully connected layer, a 1×1-output Conv or a LogSoftmax.</summary>
    ClassLogits,

    /// <summary>One probability per class: the model ends in Softmax.</summary>
    ClassProbabilities,

    /// <summary>A feature vector ([N, D] or [N, D, 1, 1]) from a backbone without a classifier: pooling, an activation, an Add.</summary>
    Embedding,

    /// <summary>Channels with more than one position each (rank above 2 with spatial dimensions other than 1).</summary>
    FeatureMap,

    /// <summary>Anything else: not float32, no batch axis, an unknown shape, or no op behind it.</summary>
    Other,
}
