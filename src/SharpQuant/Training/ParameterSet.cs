using SharpQuant.Quantization;

namespace SharpQuant.Training;

/// <summary>
/// The tensors fine-tuning learns: for every quantizer whose learning flag is on (<see cref="QuantSim.EnableParamLearning"/>)
/// its scale, with <see cref="LearnedParts.ZeroPoints"/> the zero point of an affine quantizer, and with
/// <see cref="LearnedParts.Weights"/> the weight a weight quantizer reads. Scales are kept at or above
/// <see cref="QuantMath.Eps"/> (as the observers floor them), zero points inside [qmin, qmax]. While learning, zero
/// points are real numbers (the LSQ+ forward rounds them); <see cref="WriteBack"/> writes them back rounded.
/// </summary>
public sealed class ParameterSet
{
    private readonly List<LearnedParameter> _parameters;

    private ParameterSet(List<LearnedParameter> parameters)
    {
        _parameters = parameters;
    }

    public IReadOnlyList<LearnedParameter> Parameters => _parameters;

    public IEnumerable<string> Names => _parameters.Select(p => p.Name);

    public int Count => _parameters.Count;

    public long ElementCount => _parameters.Sum(p => (long)p.Values.Length);

    public LearnedParameter this[string name] =>
        _parameters.FirstOrDefault(p => p.Name == name) ?? throw new KeyNotFoundException($"no learned parameter named '{name}'");

    public static ParameterSet Select(QuantSim sim, LearnedParts parts)
    {
        if (parts == LearnedParts.None)
        {
            throw new SharpQuantException("nothing to learn: choose scales, zero points or weights");
        }
        var parameters = new List<LearnedParameter>();
        var weights = new HashSet<string>(StringComparer.Ordinal);
        foreach (var q in sim.Quantizers.Where(q => q.LearningEnabled && q.FakeQuantEnabled))
        {
            var p = q.QParams;
            if (parts.HasFlag(LearnedParts.Scales))
            {
                parameters.Add(new LearnedParameter(q.Node.Input(1).Name, ParameterRole.Scale, q, p.Scale.ToArray(), QuantMath.Eps, float.MaxValue));
            }
            if (parts.HasFlag(LearnedParts.ZeroPoints) && q.Spec.Scheme == QuantScheme.Affine)
            {
                parameters.Add(new LearnedParameter(q.Node.Input(2).Name, ParameterRole.ZeroPoint, q, p.ZeroPoint.Select(z => (float)z).ToArray(), p.QMin, p.QMax));
            }
            // A weight shared by two layers would be learned once, through the first of them.
            if (parts.HasFlag(LearnedParts.Weights) && q.Kind == QuantizerKind.Weight && q.Input.ConstantValue is { } w && weights.Add(q.Input.Name))
            {
                parameters.Add(new LearnedParameter(q.Input.Name, ParameterRole.Weight, q, w.ToArray<float>(), float.MinValue, float.MaxValue));
            }
        }
        if (parameters.Count == 0)
        {
            throw new SharpQuantException(
                $"no quantizer learns {parts.ToString().ToLowerInvariant()}: turn learning on (QuantSim.EnableParamLearning) for quantizers that fake-quantize");
        }
        return new ParameterSet(parameters);
    }

    /// <summary>The current values as tensors, keyed by value name (the gradient runner's parameters).</summary>
    public Dictionary<string, Tensor> ToTensors() => _parameters.ToDictionary(p => p.Name, p => p.ToTensor(), StringComparer.Ordinal);

    /// <summary>Writes the learned values into the simulation they came from: scales, zero points (rounded half to even), weights.</summary>
    public void WriteBack()
    {
        foreach (var group in _parameters.GroupBy(p => p.Quantizer))
        {
            var q = group.Key;
            var current = q.QParams;
            var scale = group.FirstOrDefault(p => p.Role == ParameterRole.Scale)?.Values.ToArray() ?? current.Scale;
            var zero = group.FirstOrDefault(p => p.Role == ParameterRole.ZeroPoint) is { } z
                ? z.Values.Select(v => (int)Math.Clamp(MathF.Round(v, MidpointRounding.ToEven), current.QMin, current.QMax)).ToArray()
                : current.ZeroPoint;
            q.SetQParams(current with { Scale = scale, ZeroPoint = zero });
            if (group.FirstOrDefault(p => p.Role == ParameterRole.Weight) is { } weight)
            {
                var graph = q.Node.Owner;
                graph.SetConstantValue(graph.GetValue(weight.Name), weight.ToTensor());
            }
        }
    }
}
