using System.Globalization;

namespace SharpQuant.Analysis;

/// <summary>One of a sample's k most probable classes.</summary>
/// <param name="Index">The class index in the flattened output.</param>
/// <param name="Probability">Its probability, float32 as a model computes it.</param>
/// <param name="Label">Its name from a label file, if any.</param>
public readonly record struct TopKEntry(int Index, float Probability, string? Label)
{
    /// <summary>
    /// "Samoyed 0.8846225142478943": the label (or the index) and the probability as the PyTorch tutorial prints
    /// <c>categories[id], prob.item()</c>: a float32 widened to double, in the shortest form that round-trips.
    /// </summary>
    public override string ToString() =>
        $"{Label ?? Index.ToString(CultureInfo.InvariantCulture)} {FormatProbability(Probability)}";

    /// <summary>Python's repr of the widened float: shortest round-trip digits, lower-case exponent ("1e-05").</summary>
    public static string FormatProbability(float probability) =>
        ((double)probability).ToString("R", CultureInfo.InvariantCulture).Replace("E", "e", StringComparison.Ordinal);
}
