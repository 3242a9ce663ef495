namespace SharpQuant.Quantization;

/// <summary>
/// The integer types of a deployed model. ONNX Runtime's x86 kernels multiply uint8 activations by int8 weights
/// (U8S8). Without VNNI they pair products into int16 (vpmaddubsw), which saturates for 8-bit weights, so weights are
/// kept to 7 bits there ("reduce range"). With VNNI, in its AVX-512 form (Zen 4, Ice Lake and later Xeons) or its
/// VEX form AVX-VNNI (Alder Lake and later), the products accumulate in int32 and full 8-bit weights are safe. Other
/// processors (Arm) take signed activations (S8S8).
/// </summary>
public sealed record IntegerFormat(string Name, bool SignedActivations, bool ReduceRange, string Reason)
{
    public static IntegerFormat U8S8 { get; } = new("u8s8", false, false, "uint8 activations, int8 weights");
    public static IntegerFormat U8S8Reduced { get; } = new("u8s8-reduced", false, true, "uint8 activations, 7-bit weights (no saturation without VNNI)");
    public static IntegerFormat S8S8 { get; } = new("s8s8", true, false, "int8 activations, int8 weights");

    /// <summary>The processor the format was chosen for; null when it was named by the user.</summary>
    public CpuFeatures? Cpu { get; init; }

    public static IReadOnlyList<IntegerFormat> All { get; } = [U8S8, U8S8Reduced, S8S8];

    /// <summary>Model metadata keys under which an export records its format and the processor it was chosen for.</summary>
    public const string FormatMetadataKey = "sharpquant.integer_format", CpuMetadataKey = "sharpquant.cpu_features";

    public static IntegerFormat Parse(string name) =>
        All.FirstOrDefault(f => f.Name == name) ?? throw new SharpQuantException($"unknown integer format '{name}' (use {string.Join(", ", All.Select(f => f.Name))})");

    /// <summary>The format for the processor this runs on, and why.</summary>
    public static IntegerFormat ForThisCpu() => For(CpuFeatures.Detect());

    /// <summary>The format for a described processor, with the features behind the choice in <see cref="Reason"/>.</summary>
    public static IntegerFormat For(CpuFeatures cpu)
    {
        var features = cpu.Describe();
        if (!cpu.IsX86)
        {
            return S8S8 with { Reason = $"{features}: int8 activations and weights", Cpu = cpu };
        }
        if (cpu.HasVnni)
        {
            return U8S8 with { Reason = $"{features}: VNNI accumulates in int32, so uint8 activations with full 8-bit weights", Cpu = cpu };
        }
        return U8S8Reduced with { Reason = $"{features}: without VNNI the int16 pair sums can saturate, so uint8 activations with 7-bit weights", Cpu = cpu };
    }

    /// <summary>
    /// True where the lowered simulation reproduces ONNX Runtime's integer kernels value for value on this processor
    /// (every QLinearConv and QLinearAdd unit computed as MLAS computes it). 7-bit weights are exact on any x86 CPU:
    /// the int16 pair sums stay below 2·255·64 = 32640. Full 8-bit weights are exact where VNNI accumulates in int32;
    /// without it the pair sums can saturate, which the simulation does not model. Signed activations on x86 run
    /// kernels that differ by a step here and there (measured: a few values in a million per layer on ResNet18), and
    /// on Arm they have not been measured, so neither is claimed.
    /// </summary>
    public bool SimulationIsExactOn(CpuFeatures cpu) => cpu.IsX86 && (ReduceRange || (!SignedActivations && cpu.HasVnni));

    /// <summary>The metadata an export carries: the format's name and the processor features it was chosen for.</summary>
    public IReadOnlyDictionary<string, string> Metadata() => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [FormatMetadataKey] = Name,
        [CpuMetadataKey] = Cpu?.Describe() ?? "chosen by the user",
    };

    /// <summary>The qconfig adjusted to this format: 8-bit activations of the right sign, 7-bit weights when reducing range.</summary>
    public QConfig Apply(QConfig config) => new(
        config.Activation is { } a ? a with { Bits = 8, Signed = SignedActivations, Scheme = SignedActivations && a.Scheme == QuantScheme.Affine ? QuantScheme.Affine : a.Scheme } : null,
        config.Weight is { } w ? w with { Bits = ReduceRange ? 7 : 8, Signed = true } : null);
}
