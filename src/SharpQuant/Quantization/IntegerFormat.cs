using System.Runtime.Intrinsics.X86;

namespace SharpQuant.Quantization;

/// <summary>
/// The integer types of a deployed model. ONNX Runtime's x86 kernels multiply uint8 activations by int8 weights
/// (U8S8). Without VNNI the AVX2 instruction they use (vpmaddubsw) adds pairs of products into int16 and can
/// saturate, so weights are kept to 7 bits there ("reduce range"). With VNNI the products accumulate in int32 and
/// full 8-bit weights are safe. Other processors (Arm) take signed activations (S8S8).
/// </summary>
public sealed record IntegerFormat(string Name, bool SignedActivations, bool ReduceRange, string Reason)
{
    public static IntegerFormat U8S8 { get; } = new("u8s8", false, false, "uint8 activations, int8 weights");
    public static IntegerFormat U8S8Reduced { get; } = new("u8s8-reduced", false, true, "uint8 activations, 7-bit weights (no saturation without VNNI)");
    public static IntegerFormat S8S8 { get; } = new("s8s8", true, false, "int8 activations, int8 weights");

    public static IReadOnlyList<IntegerFormat> All { get; } = [U8S8, U8S8Reduced, S8S8];

    public static IntegerFormat Parse(string name) =>
        All.FirstOrDefault(f => f.Name == name) ?? throw new SharpQuantException($"unknown integer format '{name}' (use {string.Join(", ", All.Select(f => f.Name))})");

    /// <summary>The format for the processor this runs on, and why.</summary>
    public static IntegerFormat ForThisCpu()
    {
        // AVX-VNNI is present on every x86 CPU with AVX512-VNNI that .NET reports on (Zen 4, Sapphire Rapids and later).
        if (AvxVnni.IsSupported)
        {
            return U8S8 with { Reason = "this CPU has VNNI: uint8 activations with full 8-bit int8 weights" };
        }
        if (Avx2.IsSupported)
        {
            return U8S8Reduced with { Reason = "this CPU has AVX2 but no VNNI: uint8 activations with 7-bit weights to avoid int16 saturation" };
        }
        return S8S8 with { Reason = "not an x86 CPU with AVX2: int8 activations and weights" };
    }

    /// <summary>The qconfig adjusted to this format: 8-bit activations of the right sign, 7-bit weights when reducing range.</summary>
    public QConfig Apply(QConfig config) => new(
        config.Activation is { } a ? a with { Bits = 8, Signed = SignedActivations, Scheme = SignedActivations && a.Scheme == QuantScheme.Affine ? QuantScheme.Affine : a.Scheme } : null,
        config.Weight is { } w ? w with { Bits = ReduceRange ? 7 : 8, Signed = true } : null);
}
