namespace SharpQuant.Analysis;

/// <summary>What <see cref="LayerSensitivity.Measure"/> measures and how it runs.</summary>
public sealed record SensitivityOptions
{
    public SensitivityModes Modes { get; init; } = SensitivityModes.All;

    /// <summary>Globs over row names (<c>stage4.*</c>); null measures every row. Each row left out saves its configurations.</summary>
    public IReadOnlyList<string>? Layers { get; init; }

    /// <summary>Called after each configuration with (done, total), for a progress bar.</summary>
    public IProgress<(int Done, int Total)>? Progress { get; init; }
}
