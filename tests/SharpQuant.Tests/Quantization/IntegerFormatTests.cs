using System.Runtime.InteropServices;
using SharpQuant.Quantization;

namespace SharpQuant.Tests.Quantization;

/// <summary>The integer format follows the processor's features; every format is covered by an injected CPU.</summary>
public class IntegerFormatTests
{
    private static readonly CpuFeatures Avx2Only = new(Architecture.X64, Avx2: true, AvxVnni: false, Avx512Vnni: false);
    private static readonly CpuFeatures Zen4 = new(Architecture.X64, Avx2: true, AvxVnni: false, Avx512Vnni: true);
    private static readonly CpuFeatures AlderLake = new(Architecture.X64, Avx2: true, AvxVnni: true, Avx512Vnni: false);
    private static readonly CpuFeatures SapphireRapids = new(Architecture.X64, Avx2: true, AvxVnni: true, Avx512Vnni: true);
    private static readonly CpuFeatures Arm = new(Architecture.Arm64, Avx2: false, AvxVnni: false, Avx512Vnni: false);

    public static TheoryData<string, string> Choices() => new()
    {
        { nameof(Avx2Only), "u8s8-reduced" },
        { nameof(Zen4), "u8s8" },
        { nameof(AlderLake), "u8s8" },
        { nameof(SapphireRapids), "u8s8" },
        { nameof(Arm), "s8s8" },
    };

    private static CpuFeatures Cpu(string name) => name switch
    {
        nameof(Avx2Only) => Avx2Only,
        nameof(Zen4) => Zen4,
        nameof(AlderLake) => AlderLake,
        nameof(SapphireRapids) => SapphireRapids,
        _ => Arm,
    };

    [Theory]
    [MemberData(nameof(Choices))]
    public void TheFormatFollowsTheProcessorsDotProduct(string cpuName, string expected)
    {
        var cpu = Cpu(cpuName);
        var format = IntegerFormat.For(cpu);
        Assert.Equal(expected, format.Name);
        Assert.Same(cpu, format.Cpu);
        // The reason names the features behind the choice, and the export records both.
        Assert.StartsWith(cpu.Describe() + ":", format.Reason, StringComparison.Ordinal);
        Assert.Equal(expected, format.Metadata()[IntegerFormat.FormatMetadataKey]);
        Assert.Equal(cpu.Describe(), format.Metadata()[IntegerFormat.CpuMetadataKey]);
        // The qconfig it gives: 8-bit activations of the format's sign, 7-bit weights only without VNNI.
        var config = format.Apply(QConfig.Default);
        Assert.Equal(8, config.Activation!.Bits);
        Assert.Equal(expected == "s8s8", config.Activation.Signed);
        Assert.Equal(expected == "u8s8-reduced" ? 7 : 8, config.Weight!.Bits);
    }

    [Fact]
    public void FeaturesAreDescribedForPeople()
    {
        Assert.Equal("x64 with AVX2, AVX-512 VNNI, no AVX-VNNI", Zen4.Describe());
        Assert.Equal("x64 with AVX2, no AVX-512 VNNI, no AVX-VNNI", Avx2Only.Describe());
        Assert.Equal("arm64", Arm.Describe());
        Assert.Equal("chosen by the user", IntegerFormat.Parse("u8s8").Metadata()[IntegerFormat.CpuMetadataKey]);
    }

    [Fact]
    public void ExactnessIsClaimedOnlyWhereTheKernelsAreReproduced()
    {
        Assert.True(IntegerFormat.U8S8Reduced.SimulationIsExactOn(Avx2Only));
        Assert.True(IntegerFormat.U8S8Reduced.SimulationIsExactOn(Zen4));
        Assert.True(IntegerFormat.U8S8.SimulationIsExactOn(Zen4));
        Assert.True(IntegerFormat.U8S8.SimulationIsExactOn(AlderLake));
        Assert.False(IntegerFormat.U8S8.SimulationIsExactOn(Avx2Only));
        Assert.False(IntegerFormat.S8S8.SimulationIsExactOn(Zen4));
        Assert.False(IntegerFormat.S8S8.SimulationIsExactOn(Arm));
        // Whatever this machine is, the format chosen for it is one whose export the simulation reproduces (on x86).
        var here = CpuFeatures.Detect();
        Assert.Equal(here.IsX86, IntegerFormat.ForThisCpu().SimulationIsExactOn(here));
    }

    [SkippableFact]
    public void DetectionAgreesWithTheKernelsCpuFlags()
    {
        // Linux lists the CPUID flags it saw; the detection must read the same bits (avx512_vnni is leaf 7 ECX bit
        // 11, avx_vnni leaf 7.1 EAX bit 4).
        Skip.IfNot(File.Exists("/proc/cpuinfo"), "no /proc/cpuinfo on this system");
        var flags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
        Skip.If(flags is null, "/proc/cpuinfo lists no flags (not x86)");
        var set = flags![(flags.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        var cpu = CpuFeatures.Detect();
        Assert.Equal(set.Contains("avx2"), cpu.Avx2);
        Assert.Equal(set.Contains("avx512_vnni") && set.Contains("avx512f"), cpu.Avx512Vnni);
        Assert.Equal(set.Contains("avx_vnni"), cpu.AvxVnni);
    }
}
