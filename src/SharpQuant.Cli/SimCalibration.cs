using SharpQuant.Runtime;
using SharpQuant.Quantization;
using Spectre.Console;

namespace SharpQuant.Cli;

/// <summary>
/// How the commands set a QuantSim's activation ranges: calibration on batches with a progress bar, or data-free
/// ranges from the folded BatchNorms (quantizers without a range are reported and left unquantized).
/// </summary>
public static class SimCalibration
{
    public static void WithProgress(IAnsiConsole console, QuantSim sim, IEnumerable<Tensor> batches, int expectedBatches, string label = "calibrating") =>
        WithProgress(console, sim, InputBatch.For(sim.Graph, batches), expectedBatches, label);

    public static void WithProgress(IAnsiConsole console, QuantSim sim, IEnumerable<InputBatch> batches, int expectedBatches, string label = "calibrating") =>
        Track(console, label, expectedBatches, progress =>
        {
            sim.Calibrate(batches, progress, totalBatches: expectedBatches);
            return true;
        });

    /// <summary>Runs work that reports once per batch (calibration, histogram collection, backpropagation) under a progress bar.</summary>
    public static T Track<T>(IAnsiConsole console, string label, int expectedBatches, Func<IProgress<CalibrationProgress>, T> work)
    {
        T result = default!;
        console.ProgressBar()
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(label), maxValue: Math.Max(1, expectedBatches));
                result = work(new BatchProgress(task));
                task.Value = task.MaxValue;
            });
        return result;
    }

    /// <summary>Data-free activation ranges; prints what was set and warns (on <paramref name="error"/>) about every quantizer left out.</summary>
    public static DataFreeRangeReport DataFree(IAnsiConsole console, TextWriter error, QuantSim sim, (double Lo, double Hi)? inputRange)
    {
        var free = DataFreeRanges.Apply(sim, inputRange);
        console.MarkupLine(free.Skipped.Count == 0
            ? $"data-free ranges for {free.Ranges.Count} activation quantizers (β ± {DataFreeRanges.DefaultStandardDeviations}|γ| from the BatchNorm statistics of {free.LayersWithStatistics} layers)"
            : $"data-free ranges for {free.Ranges.Count} of {free.Total} activation quantizers (β ± {DataFreeRanges.DefaultStandardDeviations}|γ| from the BatchNorm statistics of {free.LayersWithStatistics} layers); " +
              $"the other {free.Skipped.Count} have no statistics upstream and stay in float (listed below; calibrate on data to quantize them)");
        foreach (var s in free.Skipped)
        {
            error.WriteLine($"warning: {s.Layer}: {s.Reason}; it stays unquantized");
            sim.SetFakeQuant(s.Layer, false);
        }
        return free;
    }

    // Synchronous on purpose: System.Progress<T> would post to the thread pool and report late or out of order.
    private sealed class BatchProgress(ProgressTask task) : IProgress<CalibrationProgress>
    {
        public void Report(CalibrationProgress value) => task.Value = value.Batches;
    }
}
