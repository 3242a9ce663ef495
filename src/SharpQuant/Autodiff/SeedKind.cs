namespace SharpQuant.Autodiff;

/// <summary>What an output is differentiated as, when the request names an output rather than a scalar loss.</summary>
public enum SeedKind
{
    /// <summary>d(sum of every element of the output)/d·: the seed gradient is all ones.</summary>
    Sum,

    /// <summary>d(top-1 logit of each sample)/d·: the seed is one at each sample's largest element (first axis = samples), zero elsewhere.</summary>
    Top1,
}
