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

    /// <summary>
    /// What <c>--seed</c> means in every command: the seed of the data the command draws, so the same seed draws the
    /// same crops and text lines in quantize, evaluate, report, sensitivity and finetune.
    /// </summary>
    public const string SeedDescription = "Seed of the data drawn: the --split crops of the images and the --text-orientation lines";

    /// <summary>The --seed default (finetune's is 2, for training lines disjoint from these).</summary>
    public const int DefaultSeed = 1;

    /// <summary>The observer every quantizing command starts from: the best of the five on ResNet18 (README, "Where the default loses").</summary>
    public const string DefaultObserver = "entropy";

    public static readonly string[] BiasCorrectionNames = ["empirical", "analytic", "none"];

    /// <summary>
    /// <c>--bias-correction empirical|analytic|none</c>, one type in every command; the default differs by what the
    /// command has (quantize: empirical with data), so the command says it in <paramref name="description"/>.
    /// </summary>
    public static Option<string> BiasCorrection(string description, string? defaultMethod = null)
    {
        var option = new Option<string>("--bias-correction") { Description = description };
        if (defaultMethod is not null)
        {
            option.DefaultValueFactory = _ => defaultMethod;
        }
        option.AcceptOnlyFromAmong(BiasCorrectionNames);
        return option;
    }

    public static Option<string> Observer(string defaultObserver = DefaultObserver, string description = "Activation observer: minmax, moving-average, percentile, mse or entropy")
    {
        var option = new Option<string>("--observer") { Description = description, DefaultValueFactory = _ => defaultObserver };
        option.AcceptOnlyFromAmong(ObserverNames);
        return option;
    }
}
