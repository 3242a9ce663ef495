using System.Diagnostics;
using SharpQuant.Autodiff;
using SharpQuant.Quantization;
using SharpQuant.Runtime;

namespace SharpQuant.Training;

/// <summary>
/// LSQ fine-tuning (Esser et al. 2020; zero points as LSQ+, weights as in the PyTorch tutorial's learnable_weights):
/// the quantizers whose learning flag is on learn their scales (and optionally zero points and weights) with Adam,
/// so that the simulation's outputs match the float model's on a small set of samples (a distillation loss; no
/// labels). Gradients come from <see cref="GradientGraph"/>: the simulation with the loss appended, differentiated
/// once, run by one ONNX Runtime session with the learned tensors fed as inputs at every step.
/// <para>
/// One learning rate does not fit tensors whose sizes differ by orders of magnitude (activation scales near 0.05,
/// weight scales near 0.001), and Adam's step is about the learning rate whatever the gradient's size; so each
/// tensor's rate is the option's rate times its own size: the mean initial scale for a scale, the mean scale of
/// its quantizer (one integer step) for a weight; zero points move in integer steps.
/// </para>
/// </summary>
public static class FineTuner
{
    /// <summary>
    /// Fine-tunes <paramref name="sim"/> in place on <paramref name="batches"/> (model inputs), against
    /// <paramref name="floatModel"/>'s outputs for them; the learned values are written into the simulation at the end.
    /// </summary>
    public static FineTuneResult Run(QuantSim sim, Graph floatModel, IEnumerable<Tensor> batches, FineTuneOptions? options = null, IProgress<FineTuneProgress>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        options = (options ?? new FineTuneOptions()).Validated();
        if (sim.Graph.Inputs.Count != 1 || floatModel.Inputs.Count != 1)
        {
            throw new SharpQuantException("fine-tuning supports models with one input");
        }
        var parameters = ParameterSet.Select(sim, options.Learn);
        var loss = DistillationLoss.Append(sim.Graph, options.Loss, options.Temperature);
        var samples = FloatTargets(floatModel, batches, options);

        var inputName = sim.Graph.Inputs[0].Name;
        // The backward rules need static spatial sizes; models exported with symbolic ones (ppocr-cls) get the
        // samples' shape. The batch stays symbolic, so a smaller last batch runs in the same graph. The targets are
        // given too, so that shape inference runs every input with the same batch.
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal) { [inputName] = samples.InputShape(1) };
        foreach (var target in loss.TargetInputs)
        {
            shapes[target] = samples.TargetShape(1);
        }
        var request = GradientRequest.OfLoss(DistillationLoss.LossName, [.. parameters.Names]) with { InputShapes = shapes };
        var gradients = GradientGraph.Build(loss.Graph, request);
        using var runner = new GradientRunner(gradients, options.Executor);
        // Each run's loss and gradients are read (the Adam step) before the next run overwrites them.
        var buffers = new TensorBuffers();
        var rates = parameters.Parameters.ToDictionary(p => p.Name, p => LearningRate(p, options), StringComparer.Ordinal);

        var initialLoss = MeanLoss(runner, loss, samples, inputName, parameters, options.BatchSize, buffers);
        var adam = new Adam(options.Adam);
        var stopping = options.Patience > 0 ? new EarlyStopping(options.Patience, options.LossSmoothing, options.MinRelativeImprovement) : null;
        var losses = new List<double>();
        var stoppedEarly = false;
        for (var step = 1; step <= options.Steps; step++)
        {
            var (inputs, targets, _) = samples.Next(options.BatchSize);
            var run = runner.Run(Feed(loss, inputName, inputs, targets), parameters.ToTensors(), buffers);
            var value = (double)run.Output(DistillationLoss.LossName).Floats[0];
            losses.Add(value);
            if (!double.IsFinite(value))
            {
                throw new SharpQuantException($"the training loss became {value} at step {step}; lower the learning rate");
            }
            foreach (var p in parameters.Parameters)
            {
                adam.Update(p.Name, p.Values, run.Gradient(p.Name).Floats, rates[p.Name]);
                p.Constrain();
            }
            var stop = stopping?.Add(value) ?? false;
            var smoothed = stopping?.SmoothedLoss ?? value;
            progress?.Report(new FineTuneProgress(step, options.Steps, samples.Epoch, value, smoothed));
            if (stop)
            {
                stoppedEarly = step < options.Steps;
                break;
            }
        }
        var finalLoss = MeanLoss(runner, loss, samples, inputName, parameters, options.BatchSize, buffers);
        parameters.WriteBack();
        return new FineTuneResult(initialLoss, finalLoss, losses.Count, samples.Epoch, stoppedEarly, losses, parameters.Count, parameters.ElementCount, clock.Elapsed);
    }

    /// <summary>The float model's logits for every sample, computed once: the targets do not change while training.</summary>
    private static TrainingSamples FloatTargets(Graph floatModel, IEnumerable<Tensor> batches, FineTuneOptions options)
    {
        var samples = new TrainingSamples(options.Seed);
        var logits = DistillationLoss.LogitsOf(floatModel).Name;
        using var teacher = new GraphExecutor(floatModel, options.Executor);
        foreach (var batch in batches)
        {
            var result = teacher.Run(new Dictionary<string, Tensor> { [floatModel.Inputs[0].Name] = batch }, [logits]);
            samples.Add(batch, result[logits]);
        }
        if (samples.Count == 0)
        {
            throw new SharpQuantException("fine-tuning needs at least one batch of samples");
        }
        return samples;
    }

    private static Dictionary<string, Tensor> Feed(DistillationLoss loss, string inputName, Tensor inputs, Tensor targets)
    {
        var feed = new Dictionary<string, Tensor>(loss.Targets(targets), StringComparer.Ordinal) { [inputName] = inputs };
        return feed;
    }

    /// <summary>The mean loss over all samples (each batch's mean weighted by its size), for the current parameters.</summary>
    private static double MeanLoss(GradientRunner runner, DistillationLoss loss, TrainingSamples samples, string inputName, ParameterSet parameters, int batchSize, TensorBuffers buffers)
    {
        double sum = 0;
        var current = parameters.ToTensors();
        foreach (var (inputs, targets) in samples.InOrder(batchSize))
        {
            var run = runner.Run(Feed(loss, inputName, inputs, targets), current, buffers);
            sum += run.Output(DistillationLoss.LossName).Floats[0] * (double)inputs.Shape[0];
        }
        return sum / samples.Count;
    }

    private static float LearningRate(LearnedParameter p, FineTuneOptions options) => p.Role switch
    {
        ParameterRole.Scale => options.ScaleLearningRate * MeanAbs(p.Initial),
        ParameterRole.ZeroPoint => options.ZeroPointLearningRate,
        _ => options.WeightLearningRate * MeanAbs(p.Quantizer.QParams.Scale),
    };

    private static float MeanAbs(IReadOnlyList<float> values) => values.Count == 0 ? 0 : (float)values.Average(v => Math.Abs((double)v));
}
