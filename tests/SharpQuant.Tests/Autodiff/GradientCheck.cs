using SharpQuant.Autodiff;
using SharpQuant.Quantization;
using SharpQuant.Runtime;
using Xunit.Abstractions;

namespace SharpQuant.Tests.Autodiff;

/// <summary>How a finite-difference check is run and judged.</summary>
public sealed record GradientCheckOptions
{
    /// <summary>
    /// Central-difference step. The forward runs are float32, so the loss carries rounding noise of about
    /// ε₃₂ · |L| · √n (ε₃₂ ≈ 1.2e-7); divided by 2h that is ~1e-4 of the gradient scale at h = 1e-2 for the
    /// small graphs here, while the truncation error of smooth ops is O(h²) ≈ 1e-4 of their curvature.
    /// </summary>
    public double Step { get; init; } = 1e-2;

    /// <summary>
    /// Allowed error relative to the largest finite-difference gradient of the value (the scale of the check).
    /// The rule checks measure at most 1.3e-4 of the scale (worst error / tolerance 0.065 at this setting), so 2e-3
    /// leaves room for noise while a wrong rule (a missed term, a transposed index) is off by far more.
    /// </summary>
    public double ScaleTolerance { get; init; } = 2e-3;

    /// <summary>Allowed error relative to the coordinate's own gradient.</summary>
    public double RelativeTolerance { get; init; } = 2e-3;

    /// <summary>Coordinates checked per value: all when the value has at most this many elements, else a deterministic sample.</summary>
    public int MaxCoordinates { get; init; } = 64;

    public int Seed { get; init; } = 1;

    /// <summary>
    /// Whole models have points where the forward is not differentiable at all: a MaxPool window over a spatially
    /// constant channel (a ReLU that killed a channel makes the next conv's output its bias everywhere) ties
    /// exactly, and any perturbation picks a winner. There the one-sided differences (L(x+h) − L(x))/h and
    /// (L(x) − L(x−h))/h disagree at every h, and no single gradient can match the central difference. When set,
    /// such coordinates are detected (one-sided differences further apart than the tolerance, so the central
    /// difference cannot be judged within it) and skipped;
    /// at most <see cref="MaxSkippedFraction"/> of all coordinates may be.
    /// </summary>
    public bool SkipNonDifferentiable { get; init; }

    public double MaxSkippedFraction { get; init; } = 0.25;
}

/// <summary>
/// Checks a gradient graph against central finite differences. The loss is Σ r ⊙ y over the forward graph's first
/// output y with random weights r (so no gradient is trivially uniform), accumulated in double from the float32
/// outputs of ONNX Runtime forward runs of the forward graph (FakeQuant lowered as the simulation runs it), where
/// the differentiated constants are turned into inputs so every perturbation reuses one session.
/// </summary>
public static class GradientCheck
{
    public const string WeightedOutput = "gradient_check.weighted";

    /// <summary>Appends Mul(y, r) as an extra graph output; returns r.</summary>
    public static Tensor AddWeightedOutput(Graph graph, IReadOnlyDictionary<string, Tensor> inputs, int seed)
    {
        var y = graph.Outputs[0];
        Tensor sample;
        using (var executor = new GraphExecutor(graph, null, FakeQuantLowering.Lower))
        {
            sample = executor.Run(inputs).Output;
        }
        var weights = Support.Compare.RandomTensor(seed, -1f, 1f, sample.Shape.ToArray());
        var r = graph.AddConstant("gradient_check.r", weights);
        var mul = graph.AddNode("Mul", [y, r], moduleName: "gradient_check");
        graph.RenameValue(mul.Output, WeightedOutput);
        mul.Output.ElementType = ElementType.Float;
        graph.AddOutput(mul.Output);
        return weights;
    }

    /// <summary>
    /// Builds the gradient graph of Σ (weighted output) with respect to <paramref name="wrt"/>, runs it, and compares
    /// each gradient with central differences at up to <see cref="GradientCheckOptions.MaxCoordinates"/> coordinates.
    /// </summary>
    public static void AgainstFiniteDifferences(Graph forward, IReadOnlyDictionary<string, Tensor> inputs, string[] wrt,
        GradientCheckOptions? options = null, ITestOutputHelper? log = null, GradientRequest? request = null)
    {
        options ??= new GradientCheckOptions();
        var graph = forward.Clone();
        AddWeightedOutput(graph, inputs, options.Seed);
        request ??= GradientRequest.OfOutput(WeightedOutput, SeedKind.Sum, wrt);
        var gradients = GradientGraph.Build(graph, request);
        Dictionary<string, Tensor> analytic;
        using (var runner = new GradientRunner(gradients))
        {
            var run = runner.Run(inputs);
            analytic = wrt.ToDictionary(w => w, run.Gradient);
        }

        // The forward graph for differences: differentiated constants become inputs, except FakeQuant scales and
        // zero points, which the simulation's lowering reads as constants: those are replaced in the graph for each
        // evaluation (a new session each time).
        var fdGraph = graph.Clone();
        var values = new Dictionary<string, Tensor>(inputs, StringComparer.Ordinal);
        var replaced = new Dictionary<string, Value>(StringComparer.Ordinal);
        foreach (var name in wrt)
        {
            var v = fdGraph.GetValue(name);
            if (v.ConstantValue is { } q && v.Uses.Any(u => FakeQuantOp.Is(u.Node) && u.InputIndex > 0))
            {
                replaced[name] = v;
                values[name] = q.Clone();
            }
            else if (v.ConstantValue is { } c)
            {
                fdGraph.RenameValue(v, name + "__fd_constant");
                var input = fdGraph.AddInput(name, c.ElementType, c.Shape.Select(Dim.Of).ToArray());
                fdGraph.ReplaceAllUsesWith(v, input);
                values[name] = c.Clone();
            }
            else
            {
                values[name] = values[name].Clone();
            }
        }
        using var executor = new GraphExecutor(fdGraph, null, FakeQuantLowering.Lower);
        var feeds = values.Where(kv => !replaced.ContainsKey(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        double Loss()
        {
            foreach (var (name, v) in replaced)
            {
                fdGraph.SetConstantValue(v, values[name].Clone());
            }
            var y = executor.Run(feeds, [WeightedOutput])[WeightedOutput].Floats;
            double sum = 0;
            foreach (var f in y)
            {
                sum += f;
            }
            return sum;
        }

        var random = new Random(options.Seed);
        var center = options.SkipNonDifferentiable ? Loss() : 0;
        int total = 0, skipped = 0;
        foreach (var name in wrt)
        {
            var tensor = values[name];
            var data = tensor.Floats;
            var grad = analytic[name];
            Assert.Equal(tensor.Shape, grad.Shape);
            var length = data.Length;
            var coords = length <= options.MaxCoordinates
                ? Enumerable.Range(0, length).ToArray()
                : Enumerable.Range(0, options.MaxCoordinates).Select(_ => random.Next(length)).Distinct().ToArray();
            var fd = new double[coords.Length];
            var kink = new double[coords.Length];
            for (var k = 0; k < coords.Length; k++)
            {
                var i = coords[k];
                var original = data[i];
                var plus = (float)(original + options.Step);
                var minus = (float)(original - options.Step);
                data[i] = plus;
                var lp = Loss();
                data[i] = minus;
                var lm = Loss();
                data[i] = original;
                fd[k] = (lp - lm) / ((double)plus - minus);
                kink[k] = options.SkipNonDifferentiable ? Math.Abs(((lp - center) / ((double)plus - original)) - ((center - lm) / ((double)original - minus))) : 0;
            }
            var scale = fd.Select(Math.Abs).DefaultIfEmpty(0).Max();
            var worst = 0.0;
            var failures = new List<string>();
            for (var k = 0; k < coords.Length; k++)
            {
                var a = (double)grad.Floats[coords[k]];
                var err = Math.Abs(a - fd[k]);
                var tol = (options.ScaleTolerance * scale) + (options.RelativeTolerance * Math.Abs(fd[k])) + 1e-6;
                total++;
                if (kink[k] > tol)
                {
                    skipped++;
                    log?.WriteLine($"  {name}[{coords[k]}] skipped: not differentiable there (one-sided differences {kink[k]:G3} apart)");
                    continue;
                }
                worst = Math.Max(worst, err / tol);
                if (err > tol && failures.Count < 8)
                {
                    failures.Add($"  [{coords[k]}] analytic {a:G6}, finite difference {fd[k]:G6} (error {err:G3} > {tol:G3})");
                }
            }
            log?.WriteLine($"{name}: {coords.Length} coordinates, gradient scale {scale:G4}, worst error / tolerance {worst:F3}");
            Assert.True(failures.Count == 0, $"gradient of '{name}' disagrees with finite differences (scale {scale:G4}):\n{string.Join("\n", failures)}");
        }
        log?.WriteLine($"{total} coordinates, {skipped} skipped as non-differentiable");
        Assert.True(skipped <= options.MaxSkippedFraction * total, $"{skipped} of {total} coordinates sit where the forward is not differentiable");
    }
}
