using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace SharpQuant.Quantization;

/// <summary>
/// The processor features that decide which integer kernels ONNX Runtime's MLAS runs: on x86, whether the int8 dot
/// product accumulates in int32 (VNNI, in its AVX-512 form or its VEX form AVX-VNNI) or pairs products into int16
/// (AVX2's vpmaddubsw, which can saturate). Tests inject a description; <see cref="Detect"/> reads this machine.
/// </summary>
public sealed record CpuFeatures(Architecture Architecture, bool Avx2, bool AvxVnni, bool Avx512Vnni)
{
    /// <summary>CPUID leaf 7, sub-leaf 0: EBX bit 16 is AVX-512 Foundation, ECX bit 11 AVX-512 VNNI.</summary>
    private const int Avx512FoundationBit = 16, Avx512VnniBit = 11;

    /// <summary>CPUID leaf 7, sub-leaf 1: EAX bit 4 is AVX-VNNI.</summary>
    private const int AvxVnniBit = 4;

    public bool IsX86 => Architecture is Architecture.X64 or Architecture.X86;

    /// <summary>An int32-accumulating int8 dot product, in either encoding.</summary>
    public bool HasVnni => AvxVnni || Avx512Vnni;

    /// <summary>
    /// This machine's features, from CPUID as MLAS reads them. AVX-512 VNNI counts where the CPU reports AVX-512F and
    /// VNNI and the operating system saves the vector state (AVX2 usable); .NET's own Avx512F flag is not used, because
    /// a runtime setting can switch it off while ONNX Runtime still runs its AVX-512 kernels.
    /// </summary>
    public static CpuFeatures Detect()
    {
        var architecture = RuntimeInformation.ProcessArchitecture;
        if (!X86Base.IsSupported)
        {
            return new CpuFeatures(architecture, false, false, false);
        }
        var avx2 = System.Runtime.Intrinsics.X86.Avx2.IsSupported;
        var maxLeaf = X86Base.CpuId(0, 0).Eax;
        if (!avx2 || maxLeaf < 7)
        {
            return new CpuFeatures(architecture, avx2, false, false);
        }
        var (maxSubLeaf, ebx, ecx, _) = X86Base.CpuId(7, 0);
        var avx512Vnni = Bit(ebx, Avx512FoundationBit) && Bit(ecx, Avx512VnniBit);
        // Leaf 7's EAX is its highest sub-leaf; sub-leaf 1 exists only where it is at least 1.
        var avxVnni = maxSubLeaf >= 1 && Bit(X86Base.CpuId(7, 1).Eax, AvxVnniBit);
        return new CpuFeatures(architecture, avx2, avxVnni, avx512Vnni);
    }

    private static bool Bit(int register, int bit) => (register & (1 << bit)) != 0;

    /// <summary>For people: "x64 with AVX2, AVX-512 VNNI, no AVX-VNNI".</summary>
    public string Describe()
    {
        var name = Architecture.ToString().ToLowerInvariant();
        if (!IsX86)
        {
            return name;
        }
        string Has(bool present, string feature) => present ? feature : "no " + feature;
        return $"{name} with {Has(Avx2, "AVX2")}, {Has(Avx512Vnni, "AVX-512 VNNI")}, {Has(AvxVnni, "AVX-VNNI")}";
    }
}
