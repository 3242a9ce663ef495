namespace SharpQuant.Autodiff;

/// <summary>
/// What to differentiate and with respect to what: either a value holding a scalar loss (shape [] or [1]) or a
/// graph value with a seed (<see cref="SeedKind"/>), and the values whose gradients are wanted — graph inputs,
/// activations, or constants (weights, FakeQuant scale and zero-point constants).
/// </summary>
public sealed record GradientRequest
{
    private GradientRequest(string target, SeedKind? seed, IReadOnlyList<string> withRespectTo)
    {
        Target = target;
        Seed = seed;
        WithRespectTo = withRespectTo;
    }

    /// <summary>d(<paramref name="scalarLoss"/>)/d·, where the loss is a value of shape [] or [1].</summary>
    public static GradientRequest OfLoss(string scalarLoss, params string[] withRespectTo) =>
        new(scalarLoss, null, Check(withRespectTo));

    /// <summary>The gradient of <paramref name="output"/> seeded as <paramref name="seed"/> says.</summary>
    public static GradientRequest OfOutput(string output, SeedKind seed, params string[] withRespectTo) =>
        new(output, seed, Check(withRespectTo));

    /// <summary>The value differentiated: the scalar loss, or the seeded output.</summary>
    public string Target { get; }

    /// <summary>Null for a scalar loss; else how the output is seeded.</summary>
    public SeedKind? Seed { get; }

    public IReadOnlyList<string> WithRespectTo { get; }

    /// <summary>
    /// Multiply the LSQ scale and zero-point gradients of every FakeQuant by PyTorch's grad factor
    /// 1/√(numel · qmax) (numel of the quantized tensor, counted at run time so it follows the batch).
    /// </summary>
    public bool GradientScaling { get; init; }

    /// <summary>FakeQuant nodes (by module name) whose LSQ gradients get the grad factor, in addition to <see cref="GradientScaling"/>.</summary>
    public IReadOnlySet<string> GradientScaledQuantizers { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>
    /// Concrete shapes (batch included; the batch stays symbolic in the built graph) for inputs whose non-batch
    /// dimensions are symbolic: the backward rules of Conv, pooling and Concat need static spatial sizes.
    /// </summary>
    public IReadOnlyDictionary<string, long[]> InputShapes { get; init; } = new Dictionary<string, long[]>(StringComparer.Ordinal);

    /// <summary>True when the FakeQuant named <paramref name="moduleName"/> gets the LSQ grad factor.</summary>
    public bool IsGradientScaled(string moduleName) => GradientScaling || GradientScaledQuantizers.Contains(moduleName);

    private static string[] Check(string[] withRespectTo)
    {
        if (withRespectTo.Length == 0)
        {
            throw new SharpQuantException("a gradient request needs at least one value to differentiate with respect to");
        }
        var duplicate = withRespectTo.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new SharpQuantException($"'{duplicate.Key}' is named twice in the gradient request");
        }
        return withRespectTo.ToArray();
    }
}
