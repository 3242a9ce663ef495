using System.Diagnostics;
using System.Globalization;
using SharpQuant.Analysis;
using SharpQuant.Autodiff;
using SharpQuant.Data;
using SharpQuant.Models;
using SharpQuant.Onnx;
using SharpQuant.Passes;
using SharpQuant.Plots;
using SharpQuant.Quantization;

namespace SharpQuant.Bench;

/// <summary>
/// Where the time of <see cref="SensitivityBenchmark"/> goes, phase by phase (wall and process CPU time): loading and
/// folding, QuantSim preparation and calibration, building the gradient graph (split into its shape inference and
/// the rest), creating its ONNX Runtime session, the run, binning and drawing. The pipeline is the one
/// <see cref="SensitivityAnalysis.Run"/> follows, written out so each step can be timed; the repeated phases are
/// done <see cref="Rounds"/> times and their medians reported.
/// <para>
/// Measured on the 2-core machine at load average 9 before the C# shape inference: the build took 10.6 s (10.8 s
/// CPU), nearly all of it the two ONNX Runtime runs of the forward graph with every value tapped; after, under 1 s.
/// </para>
/// </summary>
public sealed class SensitivityPhasesBenchmark : IBenchmark
{
    private const int Photos = 4;
    private const int Rounds = 3;

    public string Name => "sensitivity-phases";

    public string Description => "where the time of the sensitivity bench goes, phase by phase (wall and CPU)";

    public void Run(TextWriter output)
    {
        if (SensitivitySetup.Photos(Photos, output) is not { } batch)
        {
            return;
        }
        var phases = new PhaseClock();
        var folded = phases.Time("load + fold BatchNorm", SensitivitySetup.FoldedResNet18);
        var config = SensitivitySetup.Config;
        var sim = phases.Time("QuantSim.Prepare", () => QuantSim.Prepare(folded, new QConfigMapping().SetGlobal(config)));
        phases.Time("calibrate (entropy)", () => sim.Calibrate([batch]));

        var weights = sim.Quantizers.Where(q => q.Kind == QuantizerKind.Weight).ToList();
        var activations = sim.Quantizers.Where(q => q.Kind == QuantizerKind.Activation).ToList();
        var inputName = sim.Graph.Inputs[0].Name;
        var folder = Path.Combine(Path.GetTempPath(), "sharpquant-bench-phases-" + Guid.NewGuid().ToString("N"));
        var nodes = 0;
        try
        {
            for (var round = 0; round < Rounds; round++)
            {
                var gradients = phases.Time("gradient graph: build (shape inference + rules)", () => SensitivityAnalysis.BuildGradientGraph(sim, sim.Quantizers, SeedKind.Sum, batch));
                nodes = gradients.Graph.Nodes.Count;
                using var runner = phases.Time("gradient session: create", () =>
                {
                    var r = new GradientRunner(gradients);
                    r.Warm();
                    return r;
                });
                var run = phases.Time("gradient run (4 photos)", () => runner.Run(new Dictionary<string, Tensor> { [inputName] = batch }));
                var histograms = phases.Time("binning (values + gradients)", () =>
                {
                    var acts = activations.Select(q => new QuantizerHistogram(q, QuantGridHistogram.ForActivations(q.QParams))).ToList();
                    Parallel.ForEach(acts, h =>
                    {
                        var name = h.Quantizer.Input.Name;
                        h.Histogram.Add(name == inputName ? batch : run.Output(name), h.Quantizer.QParams, run.Gradient(name));
                    });
                    var ws = new QuantizerHistogram[weights.Count];
                    Parallel.For(0, weights.Count, i => ws[i] = new QuantizerHistogram(weights[i], WeightHistograms.Of(weights[i], run.Gradient(weights[i].Input.Name))));
                    return new SensitivityHistograms(ws, acts, SeedKind.Sum, batch.Shape[0]);
                });
                phases.Time("drawing (PNG figures)", () => ModelFigures.WriteSensitivityHistograms(histograms, folder));
            }
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }

        var c = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(c, $"sensitivity phases: ResNet18, {Photos} photos, {sim.Quantizers.Count} quantizers, gradient graph of {nodes} nodes, {Environment.ProcessorCount} cores; median of {Rounds} for repeated phases"));
        output.WriteLine(string.Create(c, $"  {"phase",-50} {"wall ms",10} {"CPU ms",10}"));
        double wall = 0, cpu = 0;
        foreach (var (phase, w, p) in phases.Medians())
        {
            wall += w;
            cpu += p;
            output.WriteLine(string.Create(c, $"  {phase,-50} {w,10:F0} {p,10:F0}"));
        }
        output.WriteLine(string.Create(c, $"  {"total",-50} {wall,10:F0} {cpu,10:F0}"));
    }

    /// <summary>Wall and process CPU time of named phases; a phase timed more than once reports its medians.</summary>
    internal sealed class PhaseClock
    {
        private readonly List<(string Phase, List<double> Wall, List<double> Cpu)> _phases = [];

        public T Time<T>(string phase, Func<T> action)
        {
            var process = Process.GetCurrentProcess();
            var cpu = process.TotalProcessorTime;
            var start = Stopwatch.GetTimestamp();
            var result = action();
            var wall = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            process.Refresh();
            var used = (process.TotalProcessorTime - cpu).TotalMilliseconds;
            var entry = _phases.FirstOrDefault(p => p.Phase == phase);
            if (entry.Phase is null)
            {
                entry = (phase, [], []);
                _phases.Add(entry);
            }
            entry.Wall.Add(wall);
            entry.Cpu.Add(used);
            return result;
        }

        public void Time(string phase, Action action) => Time(phase, () =>
        {
            action();
            return 0;
        });

        public IEnumerable<(string Phase, double Wall, double Cpu)> Medians() =>
            _phases.Select(p => (p.Phase, Median(p.Wall), Median(p.Cpu)));

        private static double Median(List<double> samples)
        {
            var sorted = samples.Order().ToArray();
            return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
        }
    }
}
