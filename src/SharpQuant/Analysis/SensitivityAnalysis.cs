using System.Numerics.Tensors;
using SharpQuant.Autodiff;
using SharpQuant.Quantization;
using SharpQuant.Runtime;

namespace SharpQuant.Analysis;

/// <summary>
/// Sensitivity analysis on the quantization grid (EasyQuant's convention, DESIGN.md "Visualization"): the model output
/// of a calibrated <see cref="QuantSim"/> is backpropagated, and the gradient with respect to each quantizer's input is
/// summed into the same bins as the values (<see cref="QuantGridHistogram"/>), so each bin shows how much the values
/// in it move the output.
/// <para>
/// The gradient is d(target)/dx for the float tensor x the quantizer reads (the tensor the histogram bins), through the
/// quantizer's straight-through estimator: inside the grid it is the gradient flowing into the quantizer's output,
/// for values the quantizer clamps it is 0. For weights it is what PyTorch stores in <c>weight.grad</c> after a
/// backward pass of a fake-quantized model, summed over every batch and binned once (the weights do not change); for
/// activations each batch's values are binned with their own gradients.
/// </para>
/// <para>
/// One gradient graph (<see cref="GradientGraph"/>) is built for all selected quantizers and run once per batch: the
/// forward values and the gradients come from the same run. Its forward half is the simulation except that biases
/// are not rounded to the int32 grid (as in PyTorch's fake-quantized training), so activations can differ from the
/// plain histograms' by that rounding.
/// </para>
/// </summary>
public static class SensitivityAnalysis
{
    /// <summary>
    /// The seed that suits a model: <see cref="SeedKind.Top1"/> when its output is a Softmax (the sum of probabilities
    /// is 1 whatever the input, so its gradient is zero), else <see cref="SeedKind.Sum"/>.
    /// </summary>
    public static SeedKind DefaultSeed(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        return graph.Outputs.Count > 0 && graph.Outputs[0].Producer?.OpType == "Softmax" ? SeedKind.Top1 : SeedKind.Sum;
    }

    public static SensitivityHistograms Run(
        QuantSim sim,
        IEnumerable<Tensor> batches,
        SeedKind seed = SeedKind.Sum,
        Func<Quantizer, bool>? select = null,
        ExecutorOptions? options = null,
        IProgress<CalibrationProgress>? progress = null,
        int? totalBatches = null)
    {
        ArgumentNullException.ThrowIfNull(sim);
        ArgumentNullException.ThrowIfNull(batches);
        var quantizers = sim.Quantizers.Where(q => select?.Invoke(q) ?? true).ToList();
        var uncalibrated = quantizers.FirstOrDefault(q => q.Kind == QuantizerKind.Activation && q.ObserverEnabled);
        if (uncalibrated is not null)
        {
            throw new SharpQuantException($"'{uncalibrated.Name}' is still observing: calibrate the simulation before its sensitivity analysis");
        }
        var weights = quantizers.Where(q => q.Kind == QuantizerKind.Weight).ToList();
        var activations = quantizers.Where(q => q.Kind == QuantizerKind.Activation).ToList();
        foreach (var w in weights)
        {
            if (w.Input.ConstantValue is null)
            {
                throw new SharpQuantException($"'{w.Name}' does not quantize a constant weight");
            }
        }
        if (sim.Graph.Inputs.Count != 1)
        {
            throw new SharpQuantException($"sensitivity analysis feeds one input; the model has {sim.Graph.Inputs.Count}");
        }
        var inputName = sim.Graph.Inputs[0].Name;
        var activationHistograms = activations.Select(q => new QuantizerHistogram(q, QuantGridHistogram.ForActivations(q.QParams))).ToList();
        var weightGradients = weights.Select(w => new float[w.Input.ConstantValue!.ElementCount]).ToList();
        var wrt = WithRespectTo(quantizers);

        GradientRunner? runner = null;
        // Each run's activations and gradients are added into the histograms and sums before the next run overwrites them.
        var buffers = new TensorBuffers();
        try
        {
            var count = 0;
            long samples = 0;
            foreach (var batch in batches)
            {
                if (wrt.Length == 0)
                {
                    break;
                }
                // Built on the first batch: a model whose spatial sizes are symbolic takes them from it.
                runner ??= new GradientRunner(BuildGradientGraph(sim, quantizers, seed, batch), options);
                var run = runner.Run(new Dictionary<string, Tensor> { [inputName] = batch }, reuse: buffers);
                // Independent writers: each histogram and each gradient sum belongs to one quantizer.
                Parallel.ForEach(activationHistograms, h =>
                {
                    var name = h.Quantizer.Input.Name;
                    var values = name == inputName ? batch : run.Output(name);
                    h.Histogram.Add(values, h.Quantizer.QParams, run.Gradient(name));
                });
                Parallel.For(0, weights.Count, i => TensorPrimitives.Add(weightGradients[i], run.Gradient(weights[i].Input.Name).Floats, weightGradients[i]));
                count++;
                samples += batch.Shape[0];
                progress?.Report(new CalibrationProgress(count, totalBatches, samples));
            }
            if (count == 0 && wrt.Length > 0)
            {
                throw new SharpQuantException("sensitivity analysis needs at least one batch");
            }
            var weightHistograms = new QuantizerHistogram[weights.Count];
            Parallel.For(0, weights.Count, i =>
            {
                var shape = weights[i].Input.ConstantValue!.Shape.ToArray();
                weightHistograms[i] = new QuantizerHistogram(weights[i], WeightHistograms.Of(weights[i], Tensor.FromFloats(weightGradients[i], shape)));
            });
            return new SensitivityHistograms(weightHistograms, activationHistograms, seed, samples);
        }
        finally
        {
            runner?.Dispose();
        }
    }

    /// <summary>
    /// The gradient graph <see cref="Run"/> builds and runs: the simulation's first output differentiated with respect to
    /// every input of <paramref name="quantizers"/> (activations and weights); the activation values become outputs
    /// too, so one run gives each value with its gradient. A model whose spatial sizes are symbolic takes them from
    /// <paramref name="firstBatch"/>; the batch stays symbolic.
    /// </summary>
    public static GradientGraph BuildGradientGraph(QuantSim sim, IReadOnlyList<Quantizer> quantizers, SeedKind seed, Tensor firstBatch)
    {
        ArgumentNullException.ThrowIfNull(sim);
        ArgumentNullException.ThrowIfNull(quantizers);
        ArgumentNullException.ThrowIfNull(firstBatch);
        var wrt = WithRespectTo(quantizers);
        var forward = sim.Graph.Clone();
        foreach (var name in wrt)
        {
            var value = forward.GetValue(name);
            if (!value.IsConstant && !value.IsGraphInput && !value.IsGraphOutput)
            {
                forward.AddOutput(value);
            }
        }
        var input = forward.Inputs[0];
        var request = GradientRequest.OfOutput(forward.Outputs[0].Name, seed, wrt);
        if (input.Shape is null || input.Shape.Skip(1).Any(d => !d.IsKnown))
        {
            request = request with { InputShapes = new Dictionary<string, long[]>(StringComparer.Ordinal) { [input.Name] = firstBatch.Shape.ToArray() } };
        }
        return GradientGraph.Build(forward, request);
    }

    /// <summary>The values differentiated: each quantizer's float input, activations first (a value read by two quantizers once).</summary>
    private static string[] WithRespectTo(IReadOnlyList<Quantizer> quantizers) =>
        quantizers.Where(q => q.Kind == QuantizerKind.Activation).Concat(quantizers.Where(q => q.Kind == QuantizerKind.Weight))
            .Select(q => q.Input.Name).Distinct(StringComparer.Ordinal).ToArray();
}
