using System.Diagnostics;
using SharpQuant.Autodiff;
using SharpQuant.Runtime;
using SharpQuant.Training;

namespace SharpQuant.Quantization.AdaRound;

/// <summary>
/// AdaRound (Nagel et al. 2020, "Up or Down? Adaptive Rounding for Post-Training Quantization"): layer by layer in
/// graph order, learns for every weight whether it rounds down or up, so that the layer's output (after its
/// activation) on calibration data is reconstructed; then writes the chosen grid points into the simulation's float
/// weights, so the weight quantizer's own nearest rounding reproduces them. Scales and zero points stay the
/// quantizer's. Each layer's problem is a small ONNX graph (<see cref="AdaRoundLayer.Problem"/>) differentiated by
/// Autodiff and run by one ONNX Runtime session; V is optimized by <see cref="Adam"/>.
/// <para>
/// A layer's inputs come from one tapped run per calibration batch of the simulation as rounded so far (or of the
/// float model, <see cref="AdaRoundInputs.Float"/>); its targets from one tapped run of the float model (or from the
/// layer with its float weight on those same inputs, <see cref="AdaRoundTargets.SameInputs"/>). Both are kept in
/// memory for the layer's iterations.
/// </para>
/// </summary>
public static class AdaRounder
{
    public static AdaRoundResult Run(QuantSim sim, IEnumerable<Tensor> batches, AdaRoundOptions? options = null, IProgress<AdaRoundProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(sim);
        ArgumentNullException.ThrowIfNull(batches);
        var clock = Stopwatch.StartNew();
        options = (options ?? new AdaRoundOptions()).Validated();
        if (sim.Graph.Inputs.Count != 1)
        {
            throw new SharpQuantException("AdaRound supports models with one input");
        }
        var data = batches.ToList();
        if (data.Count == 0)
        {
            throw new SharpQuantException("AdaRound needs at least one batch of calibration samples");
        }
        var (layers, skipped) = AdaRoundLayer.Find(sim);
        if (layers.Count == 0)
        {
            throw new SharpQuantException("AdaRound found no Conv, Gemm or MatMul weight that a weight quantizer fake-quantizes");
        }
        var inputName = sim.Graph.Inputs[0].Name;
        var needsFloat = options.Inputs == AdaRoundInputs.Float || options.Targets == AdaRoundTargets.FloatModel;
        using var floatExecutor = needsFloat ? new GraphExecutor(FloatGraph(sim), options.Executor, FakeQuantLowering.Lower) : null;
        var results = new List<AdaRoundLayerResult>();
        for (var i = 0; i < layers.Count; i++)
        {
            var layerClock = Stopwatch.StartNew();
            var layer = layers[i];
            List<Tensor> inputs;
            if (options.Inputs == AdaRoundInputs.Float)
            {
                inputs = LayerInputs(floatExecutor!, inputName, layer, data, quantized: false);
            }
            else
            {
                // The simulation changed with every layer before: a fresh session sees the rounded weights.
                using var executor = sim.CreateExecutor(options.Executor);
                inputs = LayerInputs(executor, inputName, layer, data, quantized: true);
            }
            var targets = options.Targets == AdaRoundTargets.FloatModel ? Outputs(floatExecutor!, inputName, layer, data) : null;
            var result = Solve(layer, inputs, targets, options);
            results.Add(result with { Elapsed = layerClock.Elapsed });
            progress?.Report(new AdaRoundProgress(i + 1, layers.Count, results[^1]));
        }
        return new AdaRoundResult(results, skipped, clock.Elapsed);
    }

    /// <summary>The simulation with every FakeQuant off: the float model, with the simulation's value names.</summary>
    private static Graph FloatGraph(QuantSim sim)
    {
        var graph = sim.Graph.Clone();
        foreach (var fq in graph.Nodes.Where(FakeQuantOp.Is))
        {
            FakeQuantOp.SetEnabled(fq, false);
        }
        return graph;
    }

    /// <summary>
    /// The layer's input for every batch. A layer behind an activation FakeQuant is tapped at the FakeQuant's float
    /// input (the lowering folds the quantized value into integer units, where it cannot be tapped) and quantized here
    /// with the same scale and zero point, when the simulation's quantizer is on.
    /// </summary>
    private static List<Tensor> LayerInputs(GraphExecutor executor, string inputName, AdaRoundLayer layer, List<Tensor> batches, bool quantized)
    {
        var value = layer.InputValue;
        var fq = value.Producer is { } p && FakeQuantOp.Is(p) ? p : null;
        var source = fq?.Input(0) ?? value;
        var quantize = quantized && fq is not null && FakeQuantOp.IsEnabled(fq) ? FakeQuantOp.Read(fq) : null;
        var result = new List<Tensor>(batches.Count);
        foreach (var batch in batches)
        {
            var x = source.Name == inputName
                ? batch
                : executor.Run(new Dictionary<string, Tensor>(StringComparer.Ordinal) { [inputName] = batch }, [source.Name])[source.Name];
            result.Add(quantize is null ? x : QuantMath.FakeQuantize(x, quantize));
        }
        return result;
    }

    /// <summary>The float model's output of the layer's unit (after its activations), for every batch.</summary>
    private static List<Tensor> Outputs(GraphExecutor floatExecutor, string inputName, AdaRoundLayer layer, List<Tensor> batches)
    {
        var end = (layer.Activations.Count > 0 ? layer.Activations[^1] : layer.Node).Output.Name;
        return batches.Select(b => floatExecutor.Run(new Dictionary<string, Tensor>(StringComparer.Ordinal) { [inputName] = b }, [end])[end]).ToList();
    }

    /// <summary>Learns one layer's rounding from its inputs and writes the rounded weight into the simulation.</summary>
    internal static AdaRoundLayerResult Solve(AdaRoundLayer layer, IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor>? targets, AdaRoundOptions options)
    {
        var inputRow = inputs[0].Shape.Skip(1).ToArray();
        var samples = new TrainingSamples(options.Seed);
        using (var reference = new GraphExecutor(layer.Reference(inputRow), options.Executor))
        {
            for (var i = 0; i < inputs.Count; i++)
            {
                var x = inputs[i];
                samples.Add(x, targets?[i] ?? reference.Run(new Dictionary<string, Tensor>(StringComparer.Ordinal) { [AdaRoundLayer.Input] = x }).Output);
            }
        }
        var outputRow = samples.TargetShape(1).Skip(1).ToArray();
        var (floor, fraction, nearest) = layer.Grid();
        var problem = layer.Problem(inputRow, outputRow, floor);
        var shape = layer.Weight.Shape.ToArray();

        double nearestLoss;
        using (var forward = new GraphExecutor(problem, options.Executor))
        {
            nearestLoss = MeanReconstruction(forward, samples, Hard(nearest, shape), options.BatchSize);
        }

        var v = fraction.Select(RectifiedSigmoid.Inverse).ToArray();
        var gradients = GradientGraph.Build(problem, GradientRequest.OfLoss(AdaRoundLayer.Loss, AdaRoundLayer.V));
        using var runner = new GradientRunner(gradients, options.Executor);
        var buffers = new TensorBuffers();
        var adam = new Adam();
        for (var step = 0; step < options.Iterations; step++)
        {
            var (x, target, _) = samples.Next(options.BatchSize);
            var (regularized, beta) = options.Schedule(step);
            var feed = Feed(x, target, Tensor.FromFloats(v, shape), beta, regularized ? options.Lambda : 0f);
            var run = runner.Run(feed, reuse: buffers);
            var loss = run.Output(AdaRoundLayer.Loss).Floats[0];
            if (!float.IsFinite(loss))
            {
                throw new SharpQuantException($"the AdaRound loss of '{layer.Name}' became {loss} at iteration {step + 1}; lower the learning rate");
            }
            adam.Update(AdaRoundLayer.V, v, run.Gradient(AdaRoundLayer.V).Floats, options.LearningRate);
        }

        var up = v.Select(RectifiedSigmoid.RoundsUp).ToArray();
        double adaRoundLoss;
        using (var forward = new GraphExecutor(problem, options.Executor))
        {
            adaRoundLoss = MeanReconstruction(forward, samples, Hard(up, shape), options.BatchSize);
        }
        // Hard rounding of a soft solution is not guaranteed to beat nearest rounding (a small layer, few iterations):
        // where it reconstructs the calibration outputs worse, the layer keeps nearest rounding.
        var keptNearest = adaRoundLoss > nearestLoss;
        if (keptNearest)
        {
            up = nearest;
            adaRoundLoss = nearestLoss;
        }
        var integers = layer.Integers(floor, up);
        var nearestIntegers = layer.Integers(floor, nearest);
        layer.Quantizer.Node.Owner.SetConstantValue(layer.Quantizer.Input, layer.RoundedWeight(integers));
        var flipped = integers.Where((q, k) => q != nearestIntegers[k]).LongCount();
        return new AdaRoundLayerResult(layer.Name, layer.Node.OpType, up.Length, nearestLoss, adaRoundLoss, flipped, keptNearest, TimeSpan.Zero);
    }

    /// <summary>V saturated so that h(V) is exactly the hard rounding.</summary>
    private static Tensor Hard(bool[] up, long[] shape) =>
        Tensor.FromFloats(up.Select(u => u ? RectifiedSigmoid.Saturated : -RectifiedSigmoid.Saturated).ToArray(), shape);

    private static Dictionary<string, Tensor> Feed(Tensor x, Tensor target, Tensor v, float beta, float lambda) => new(StringComparer.Ordinal)
    {
        [AdaRoundLayer.Input] = x,
        [AdaRoundLayer.Target] = target,
        [AdaRoundLayer.V] = v,
        [AdaRoundLayer.Beta] = Tensor.Scalar(beta),
        [AdaRoundLayer.Lambda] = Tensor.Scalar(lambda),
    };

    /// <summary>The reconstruction term over every sample (each batch's mean weighted by its size).</summary>
    private static double MeanReconstruction(GraphExecutor forward, TrainingSamples samples, Tensor v, int batchSize)
    {
        double sum = 0;
        foreach (var (x, target) in samples.InOrder(batchSize))
        {
            var run = forward.Run(Feed(x, target, v, 2f, 0f), [AdaRoundLayer.Reconstruction]);
            sum += run[AdaRoundLayer.Reconstruction].Floats[0] * (double)x.Shape[0];
        }
        return sum / samples.Count;
    }
}
