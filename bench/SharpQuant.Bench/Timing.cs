using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace SharpQuant.Bench;

/// <summary>The samples of one repeated measurement, in milliseconds.</summary>
public sealed class Measurement
{
    public Measurement(IReadOnlyList<double> samplesMs)
    {
        if (samplesMs.Count == 0)
        {
            throw new ArgumentException("a measurement needs at least one sample", nameof(samplesMs));
        }
        SamplesMs = samplesMs.ToArray();
        var sorted = samplesMs.Order().ToArray();
        MinMs = sorted[0];
        MaxMs = sorted[^1];
        MedianMs = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public IReadOnlyList<double> SamplesMs { get; }
    public int Count => SamplesMs.Count;
    public double MedianMs { get; }
    public double MinMs { get; }
    public double MaxMs { get; }
}

/// <summary>Warm-up, repeated measurement and interleaving. The garbage collector is run before every sample, outside the timed region.</summary>
public static class Timing
{
    /// <summary>Times one call, in milliseconds.</summary>
    public static double TimeMs(Action action)
    {
        var start = Stopwatch.GetTimestamp();
        action();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    /// <summary>Runs <paramref name="action"/> <paramref name="warmups"/> times untimed, then <paramref name="runs"/> times timed.</summary>
    public static Measurement Measure(Action action, int warmups, int runs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(runs, 1);
        for (var i = 0; i < warmups; i++)
        {
            action();
        }
        var samples = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            Settle();
            samples[i] = TimeMs(action);
        }
        return new Measurement(samples);
    }

    /// <summary>
    /// Measures two actions in alternating order over <paramref name="rounds"/> rounds (A then B, then B then A, ...),
    /// so drift in the machine (clock, other load) falls on both sides alike.
    /// </summary>
    public static (Measurement A, Measurement B) Interleave(Action a, Action b, int warmups, int rounds)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 1);
        for (var i = 0; i < warmups; i++)
        {
            a();
            b();
        }
        var samplesA = new double[rounds];
        var samplesB = new double[rounds];
        for (var r = 0; r < rounds; r++)
        {
            if (r % 2 == 0)
            {
                Settle();
                samplesA[r] = TimeMs(a);
                Settle();
                samplesB[r] = TimeMs(b);
            }
            else
            {
                Settle();
                samplesB[r] = TimeMs(b);
                Settle();
                samplesA[r] = TimeMs(a);
            }
        }
        return (new Measurement(samplesA), new Measurement(samplesB));
    }

    /// <summary>
    /// The median of the per-round ratios a[i] / b[i] of two interleaved measurements. Each pair ran back to back,
    /// so this is the figure least moved by load that comes and goes on a shared machine.
    /// </summary>
    public static double PairedRatioMedian(Measurement a, Measurement b)
    {
        if (a.Count != b.Count)
        {
            throw new ArgumentException("paired ratios need measurements with the same number of samples");
        }
        return new Measurement(a.SamplesMs.Zip(b.SamplesMs, (x, y) => x / y).ToArray()).MedianMs;
    }

    /// <summary>Managed bytes allocated on this thread per call, averaged over <paramref name="runs"/> calls after one untimed call.</summary>
    public static long AllocatedBytesPerCall(Action action, int runs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(runs, 1);
        action();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < runs; i++)
        {
            action();
        }
        return (GC.GetAllocatedBytesForCurrentThread() - before) / runs;
    }

    /// <summary>Collects garbage so that one sample does not pay for the previous one's allocations.</summary>
    public static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}

/// <summary>Writes an aligned report: sections, labelled figures, ratios with PASS/MISS against a target.</summary>
public sealed class Report(TextWriter output)
{
    private const int LabelWidth = 46;
    private const int ValueWidth = 12;
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public TextWriter Output { get; } = output;

    /// <summary>How many ratios missed their target so far in this report.</summary>
    public int Misses { get; private set; }

    public void Title(string title, string description)
    {
        Output.WriteLine(title);
        Output.WriteLine(new string('=', title.Length));
        Output.WriteLine(description);
    }

    public void Section(string title)
    {
        Output.WriteLine();
        Output.WriteLine(title);
    }

    public void Note(string text) => Output.WriteLine($"  {text}");

    public void Line(string label, string value, string? detail = null) =>
        Output.WriteLine($"  {label.PadRight(LabelWidth)}{value.PadLeft(ValueWidth)}{(detail is null ? "" : "  " + detail)}".TrimEnd());

    /// <summary>The machine and runtime the figures come from.</summary>
    public void Machine(params (string Label, string Value)[] extra)
    {
        Section("machine");
        Text("processors", Environment.ProcessorCount.ToString(Invariant));
        if (CpuModel() is { } cpu)
        {
            Text("cpu", cpu);
        }
        Text("os", $"{RuntimeInformation.OSDescription} ({RuntimeInformation.OSArchitecture})");
        Text("runtime", $"{RuntimeInformation.FrameworkDescription} ({RuntimeInformation.ProcessArchitecture})");
        Text("gc", $"{(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")}, {(Debugger.IsAttached ? "debugger attached" : "no debugger")}");
        foreach (var (label, value) in extra)
        {
            Text(label, value);
        }
        LoadAverage("load average at start");
    }

    /// <summary>The 1, 5 and 15 minute load averages where the OS reports them: above the processor count, other work competed for the CPUs.</summary>
    public void LoadAverage(string label)
    {
        const string loadAvg = "/proc/loadavg";
        try
        {
            if (File.Exists(loadAvg))
            {
                var parts = File.ReadAllText(loadAvg).Split(' ', StringSplitOptions.RemoveEmptyEntries);
                Text(label, $"{string.Join(" ", parts.Take(3))} (1, 5, 15 min; figures are noisy when above {Environment.ProcessorCount})");
            }
        }
        catch (IOException)
        {
            // Informational only.
        }
    }

    /// <summary>A left-aligned text value (for descriptions that do not fit the figure column).</summary>
    public void Text(string label, string value) => Output.WriteLine($"  {label.PadRight(LabelWidth)}{value}");

    /// <summary>A measurement's median, with min and sample count alongside.</summary>
    public void Figure(string label, Measurement m, string unit = "ms") =>
        Line(label, $"{Format(m.MedianMs)} {unit}", $"median of {m.Count}; min {Format(m.MinMs)}, max {Format(m.MaxMs)}");

    public void Value(string label, double value, string unit, string? detail = null) => Line(label, $"{Format(value)} {unit}", detail);

    /// <summary>Prints numerator / denominator; with <paramref name="atMost"/>, also PASS or MISS.</summary>
    public double Ratio(string label, double numerator, double denominator, double? atMost = null, string? detail = null)
    {
        var ratio = numerator / denominator;
        var verdict = "";
        if (atMost is { } target)
        {
            var pass = ratio <= target;
            if (!pass)
            {
                Misses++;
            }
            verdict = $"{(pass ? "PASS" : "MISS")} (target at most {target.ToString("0.00", Invariant)})";
        }
        var text = string.Join("  ", new[] { verdict, detail ?? "" }.Where(s => s.Length > 0));
        Line(label, ratio.ToString("0.000", Invariant) + " x", text.Length == 0 ? null : text);
        return ratio;
    }

    public void Check(string label, bool ok, string detail)
    {
        if (!ok)
        {
            Misses++;
        }
        Line(label, ok ? "PASS" : "FAIL", detail);
    }

    public static string Format(double value) =>
        value >= 100 ? value.ToString("0.0", Invariant) : value >= 10 ? value.ToString("0.00", Invariant) : value.ToString("0.000", Invariant);

    private static string? CpuModel()
    {
        const string cpuInfo = "/proc/cpuinfo";
        if (!File.Exists(cpuInfo))
        {
            return null;
        }
        try
        {
            var line = File.ReadLines(cpuInfo).FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line?[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }
}
