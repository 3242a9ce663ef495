using System.Globalization;
using SharpQuant.Models;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Quantization;
using SharpQuant.Quantization.Observers;
using SharpQuant.Runtime;

namespace SharpQuant.Bench;

/// <summary>
/// The observers' own cost in a calibration pass, without ONNX Runtime: the activations every quantizer of the
/// default ResNet18 taps are computed once for two batches of 8, then fed to fresh observers of each kind on one
/// thread, alternating the two batches. Single-threaded CPU time per batch is far steadier on a shared machine than
/// the wall time of the calibration loop, so it is the figure to compare observer changes by.
/// </summary>
public sealed class ObserverBenchmark : IBenchmark
{
    private const int BatchSize = 8;
    private const int Rounds = 9;

    public string Name => "observers";

    public string Description => "observer CPU cost per calibration batch (entropy histogram, min-max) on ResNet18's tapped activations";

    public void Run(TextWriter output)
    {
        var c = CultureInfo.InvariantCulture;
        var report = new Report(output);
        report.Title("observers", Description);
        report.Machine();

        var graph = OnnxModel.Load(DefaultModels.ResNet18Path);
        graph.MakeBatchDynamic();
        graph = graph.FoldBatchNorm();
        var sim = QuantSim.Prepare(graph, QConfigMapping.Default());
        var activations = sim.Quantizers.Where(q => q.Kind == QuantizerKind.Activation).ToList();
        var taps = activations.Select(q => q.Input.Name).Distinct().ToArray();
        var batches = new List<Tensor[]>();
        using (var executor = sim.CreateExecutor(new ExecutorOptions { IntraOpThreads = Environment.ProcessorCount }))
        {
            for (var seed = 0; seed < 2; seed++)
            {
                var result = executor.Run(new Dictionary<string, Tensor> { [sim.Graph.Inputs[0].Name] = RandomImages(seed, BatchSize) }, taps);
                batches.Add(activations.Select(q => result[q.Input.Name]).ToArray());
            }
        }
        var values = batches[0].Sum(t => t.ElementCount);
        var zeros = batches[0].Sum(t => (long)t.Floats.Count(0f));
        report.Section(string.Create(c, $"{activations.Count} activation quantizers, {values / 1e6:F1} M values per batch of {BatchSize} ({zeros / (double)values:P0} exact zeros), one thread"));

        foreach (var (label, spec) in new[]
        {
            ("entropy histogram, 2048 bins", QuantSpec.FakeQuantAct),
            ("min-max per tensor", QuantSpec.FakeQuantAct with { Observer = ObserverKind.MinMax }),
        })
        {
            var observers = activations.Select(_ => ObserverFactory.Create(spec)).ToArray();
            // Two batches first: the ranges settle, later batches are the steady state of a calibration.
            Feed(observers, batches[0]);
            Feed(observers, batches[1]);
            // CPU time as well as wall time: with other work on the machine the wall time of one thread includes
            // the time it waited for a core, its CPU time mostly does not.
            var wall = new List<double>();
            var cpu = new List<double>();
            using var process = System.Diagnostics.Process.GetCurrentProcess();
            for (var r = 0; r < Rounds; r++)
            {
                Timing.Settle();
                process.Refresh();
                var cpuStart = process.TotalProcessorTime;
                wall.Add(Timing.TimeMs(() => Feed(observers, batches[r % 2])));
                process.Refresh();
                cpu.Add((process.TotalProcessorTime - cpuStart).TotalMilliseconds);
            }
            report.Figure(label + ", wall per batch", new Measurement(wall));
            report.Figure(label + ", CPU per batch", new Measurement(cpu));
            report.Value("  throughput (CPU)", values / new Measurement(cpu).MedianMs / 1e6, "G values/s");
        }
        report.LoadAverage("load average at end");
        output.WriteLine(string.Create(c, $"  (the calibration spreads this over {Environment.ProcessorCount} threads after each ONNX Runtime run)"));
    }

    private static void Feed(IObserver[] observers, Tensor[] batch)
    {
        for (var i = 0; i < observers.Length; i++)
        {
            observers[i].Observe(batch[i]);
        }
    }

    private static Tensor RandomImages(int seed, int count)
    {
        var random = new Random(seed);
        var data = new float[count * 3 * 224 * 224];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)(random.NextDouble() * 270 - 120);
        }
        return Tensor.FromFloats(data, count, 3, 224, 224);
    }
}
