using System.Globalization;

namespace SharpQuant.Plots.Report;

/// <summary>
/// One format per kind of number, so the same quantity reads the same everywhere in a report (and matches what the
/// command line prints): invariant culture, a fixed number of decimals per kind, "∞" for infinite SQNR.
/// </summary>
public static class ReportNumbers
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    /// <summary>Counts with thousands separators: 11,689,512.</summary>
    public static string Count(long value) => value.ToString("N0", C);

    /// <summary>A ratio such as a range spread (largest / smallest channel range), one decimal as the CLI prints it: 30.2.</summary>
    public static string Ratio(double value) => Finite(value) ?? value.ToString("F1", C);

    /// <summary>Cosine similarity: five decimals, enough to tell 0.99917 from 0.99980.</summary>
    public static string Cosine(double value) => Finite(value) ?? value.ToString("F5", C);

    /// <summary>Signal-to-quantization-noise ratio in dB: two decimals, "∞" for identical outputs.</summary>
    public static string Decibels(double value) =>
        double.IsPositiveInfinity(value) ? "∞" : double.IsNegativeInfinity(value) ? "−∞" : Finite(value) ?? value.ToString("F2", C);

    /// <summary>A fraction shown as a percentage with one decimal: 97.5 %.</summary>
    public static string Percent(double fraction) => Finite(fraction) ?? (100 * fraction).ToString("F1", C) + " %";

    /// <summary>Quantization scales and other small magnitudes: four significant digits in scientific notation (as print_scale).</summary>
    public static string Scale(double value) => Finite(value) ?? value.ToString("0.000e+0", C);

    /// <summary>General values (ranges, differences, KL): four significant digits.</summary>
    public static string Value(double value) => Finite(value) ?? value.ToString("G4", C);

    /// <summary>Durations: milliseconds with one decimal below a second, else seconds with one decimal.</summary>
    public static string Duration(TimeSpan value) =>
        value.TotalSeconds < 1 ? value.TotalMilliseconds.ToString("F1", C) + " ms" : value.TotalSeconds.ToString("F1", C) + " s";

    /// <summary>Integers as they are (zero points, channel counts, axes).</summary>
    public static string Integer(long value) => value.ToString(C);

    // NaN means "not measured" (for example no samples): a dash reads better than "NaN".
    private static string? Finite(double value) => double.IsNaN(value) ? "–" : double.IsInfinity(value) ? (value > 0 ? "∞" : "−∞") : null;
}
