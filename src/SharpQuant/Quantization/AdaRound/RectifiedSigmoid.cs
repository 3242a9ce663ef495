using SharpQuant.Autodiff;

namespace SharpQuant.Quantization.AdaRound;

/// <summary>
/// AdaRound's rounding variable (Nagel et al. 2020): h(V) = clip(σ(V)(ζ − γ) + γ, 0, 1) with ζ = 1.1, γ = −0.1,
/// stretched past [0, 1] so that h reaches 0 and 1 exactly at finite V; and its regularizer
/// Σ (1 − |2h − 1|^β), which is 0 only when every h is 0 or 1. As graph nodes (differentiated by Autodiff's
/// Sigmoid, Clip, Abs and Pow rules) and in C# for initialization and the final hard rounding.
/// </summary>
public static class RectifiedSigmoid
{
    public const float Zeta = 1.1f;
    public const float Gamma = -0.1f;

    /// <summary>|V| large enough that h(V) is exactly 0 or 1 in float32 (σ(±100) is 1 and ~4e-44).</summary>
    public const float Saturated = 100f;

    public static float H(float v) => Math.Clamp((Sigmoid(v) * (Zeta - Gamma)) + Gamma, 0f, 1f);

    /// <summary>The V with h(V) = <paramref name="fraction"/> (in [0, 1)), the paper's initialization from W/s − ⌊W/s⌋.</summary>
    public static float Inverse(float fraction)
    {
        var p = (fraction - Gamma) / (Zeta - Gamma);
        return MathF.Log(p / (1 - p));
    }

    /// <summary>The hard rounding at the end: up where h(V) ≥ 0.5, that is where σ(V) ≥ 0.5, V ≥ 0.</summary>
    public static bool RoundsUp(float v) => H(v) >= 0.5f;

    private static float Sigmoid(float v) => 1f / (1f + MathF.Exp(-v));

    /// <summary>Appends h(V) to a graph.</summary>
    internal static Value Emit(GraphEmitter emit, Value v)
    {
        var stretched = emit.Add(emit.Mul(emit.Op("Sigmoid", [v]), emit.Scalar(Zeta - Gamma)), emit.Scalar(Gamma));
        return emit.Op("Clip", [stretched, emit.Scalar(0f), emit.Scalar(1f)]);
    }

    /// <summary>Appends Σ (1 − |2h − 1|^β) (a scalar of shape []) to a graph; β is a value so a run can anneal it.</summary>
    internal static Value EmitRegularizer(GraphEmitter emit, Value h, Value beta)
    {
        var distance = emit.Op("Abs", [emit.Sub(emit.Mul(h, emit.Scalar(2f)), emit.Scalar(1f))]);
        var term = emit.Sub(emit.Scalar(1f), emit.Op("Pow", [distance, beta]));
        return emit.ReduceSum(term, [], keepDims: false);
    }

    /// <summary>
    /// A graph with input <paramref name="vName"/> (shape <paramref name="shape"/>) and a scalar input β, whose outputs
    /// are h(V) and the regularizer: what the finite-difference tests check.
    /// </summary>
    public static Graph Graph(long[] shape, string vName = "v", string betaName = "beta")
    {
        var graph = new Graph();
        graph.Info.OnnxOpset = 13;
        var emit = new GraphEmitter(graph) { Scope = "adaround" };
        var v = graph.AddInput(vName, ElementType.Float, shape.Select(Dim.Of).ToArray());
        var beta = graph.AddInput(betaName, ElementType.Float, []);
        var h = Emit(emit, v);
        graph.AddOutput(h);
        graph.AddOutput(EmitRegularizer(emit, h, beta));
        return graph;
    }
}
