using SharpQuant;

namespace SharpQuant.Bench;

/// <summary>
/// Entry point: <c>SharpQuant.Bench [NAME...]</c> runs the named benchmarks (all of them without a name);
/// <c>--list</c> lists them. Exit codes: 0 done, 1 usage error, 2 bad input, 3 internal error.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        IBenchmark[] benchmarks = [new FoundationBenchmark(), new EqualizationBenchmark(), new QuantizationBenchmark(), new ObserverBenchmark(), new PpocrResultsBenchmark(), new ResNet18ResultsBenchmark(), new PlotsBenchmark(), new AutodiffBenchmark(), new SensitivityBenchmark(), new SensitivityPhasesBenchmark(), new SensitivitySessionBenchmark(), new FinetuneResultsBenchmark(), new PyTorchComparisonBenchmark(), new DefaultChoicesBenchmark(), new BiasCorrectionBenchmark(), new ModelZooBenchmark(), new AdaRoundBenchmark()];
        var output = Console.Out;

        if (args is ["--list"] or ["-l"])
        {
            var width = benchmarks.Max(b => b.Name.Length) + 2;
            foreach (var b in benchmarks)
            {
                output.WriteLine($"{b.Name.PadRight(width)}{b.Description}");
            }
            return 0;
        }
        if (args is ["--help"] or ["-h"])
        {
            output.WriteLine("usage: SharpQuant.Bench [NAME...] | --list");
            output.WriteLine("runs the named benchmarks, or all of them without a name; build in Release first.");
            return 0;
        }

        var selected = new List<IBenchmark>();
        foreach (var name in args)
        {
            var match = benchmarks.FirstOrDefault(b => string.Equals(b.Name, name, StringComparison.OrdinalIgnoreCase));
            if (match is null)
            {
                Console.Error.WriteLine($"error: no benchmark named '{name}'; known: {string.Join(", ", benchmarks.Select(b => b.Name))}");
                return 1;
            }
            selected.Add(match);
        }
        if (selected.Count == 0)
        {
            selected.AddRange(benchmarks);
        }

#if DEBUG
        output.WriteLine("warning: this is a Debug build; timings are not meaningful (use -c Release)");
#endif
        try
        {
            for (var i = 0; i < selected.Count; i++)
            {
                if (i > 0)
                {
                    output.WriteLine();
                }
                selected[i].Run(output);
            }
        }
        catch (SharpQuantException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        return 0;
    }
}
