namespace SharpQuant.Training;

/// <summary>Adam's hyper-parameters, with torch.optim.Adam's defaults.</summary>
public sealed record AdamOptions
{
    public float Beta1 { get; init; } = 0.9f;
    public float Beta2 { get; init; } = 0.999f;

    /// <summary>Added to √v̂ (torch's eps), so a parameter with a zero gradient history does not divide by zero.</summary>
    public float Epsilon { get; init; } = 1e-8f;
}

/// <summary>
/// Adam (Kingma and Ba 2015) with bias correction, computed as torch.optim.Adam's single-tensor path does (no weight
/// decay, no amsgrad): m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², then
/// p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε), in float32 with the corrections in double as Python computes
/// them. Each parameter keeps its own moments and step count; the learning rate is given per update so groups of
/// parameters (scales, zero points, weights) can move at different rates.
/// </summary>
public sealed class Adam(AdamOptions? options = null)
{
    private readonly Dictionary<string, State> _states = new(StringComparer.Ordinal);

    public AdamOptions Options { get; } = options ?? new AdamOptions();

    /// <summary>The number of updates <paramref name="name"/> has had.</summary>
    public int Steps(string name) => _states.TryGetValue(name, out var s) ? s.Step : 0;

    /// <summary>Updates <paramref name="values"/> in place from their gradient.</summary>
    public void Update(string name, Span<float> values, ReadOnlySpan<float> gradient, float learningRate)
    {
        if (gradient.Length != values.Length)
        {
            throw new ArgumentException($"'{name}': {gradient.Length} gradient values for {values.Length} parameters", nameof(gradient));
        }
        if (!_states.TryGetValue(name, out var state))
        {
            state = new State(values.Length);
            _states.Add(name, state);
        }
        else if (state.M.Length != values.Length)
        {
            throw new ArgumentException($"'{name}' had {state.M.Length} values and now has {values.Length}", nameof(values));
        }
        state.Step++;
        float beta1 = Options.Beta1, beta2 = Options.Beta2, eps = Options.Epsilon;
        var correction1 = 1 - Math.Pow(beta1, state.Step);
        var correction2Sqrt = (float)Math.Sqrt(1 - Math.Pow(beta2, state.Step));
        var stepSize = (float)(learningRate / correction1);
        var m = state.M;
        var v = state.V;
        for (var i = 0; i < values.Length; i++)
        {
            var g = gradient[i];
            // torch's lerp_(grad, 1 − β₁) is m + (1 − β₁)(g − m); mul_(β₂).addcmul_(g, g, 1 − β₂) for v.
            m[i] += (1 - beta1) * (g - m[i]);
            v[i] = v[i] * beta2 + (1 - beta2) * (g * g);
            var denominator = MathF.Sqrt(v[i]) / correction2Sqrt + eps;
            values[i] -= stepSize * (m[i] / denominator);
        }
    }

    private sealed class State(int count)
    {
        public float[] M { get; } = new float[count];
        public float[] V { get; } = new float[count];
        public int Step { get; set; }
    }
}
