using System.CommandLine;

namespace SharpQuant.Cli;

/// <summary>
/// The options several commands share (weight granularity, bit widths, activation observer), declared
/// once so their names, allowed values and defaults cannot drift apart between commands.
/// </summary>
public static class QuantOptions
{
    public static readonly string[] ObserverNames = ["minmax", "moving-average", "percentile", "mse", "entropy"];

    public static Option<string> WeightGranularity()
    {
        var option = new Option<string>("--weights") { Description = "Weight granularity: per-channel or per-tensor", DefaultValueFactory = _ => "per-channel" };
        option.AcceptOnlyFromAmong("per-channel", "per-tensor");
        return option;
    }

    public static Option<int> WeightBits(string description = "Weight bits (2-16; export needs 8 or fewer)") =>
        new("--wbits") { Description = description, DefaultValueFactory = _ => 8 };

    public static Option<int> ActivationBits() =>
        new("--abits") { Description = "Activation bits (2-16; an int8 export needs 8)", DefaultValueFactory = _ => 8 };

    public static Option<string> Observer(string defaultObserver, string description = "Activation observer: minmax, moving-average, percentile, mse or entropy")
    {
        var option = new Option<string>("--observer") { Description = description, DefaultValueFactory = _ => defaultObserver };
        option.AcceptOnlyFromAmong(ObserverNames);
        return option;
    }
}
