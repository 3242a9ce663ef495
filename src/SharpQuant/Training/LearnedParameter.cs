using SharpQuant.Quantization;

namespace SharpQuant.Training;

/// <summary>
/// One learned tensor: a FakeQuant's scale or zero-point constant, or the weight constant a weight FakeQuant reads,
/// named by its value name (the name Autodiff is asked for), with its current values and the range it is kept in.
/// </summary>
public sealed class LearnedParameter
{
    internal LearnedParameter(string name, ParameterRole role, Quantizer quantizer, float[] values, float min, float max)
    {
        Name = name;
        Role = role;
        Quantizer = quantizer;
        Values = values;
        Initial = (float[])values.Clone();
        Min = min;
        Max = max;
    }

    /// <summary>The constant's value name in the QuantSim graph.</summary>
    public string Name { get; }

    public ParameterRole Role { get; }
    public Quantizer Quantizer { get; }

    /// <summary>The current values, updated in place by the optimizer.</summary>
    public float[] Values { get; }

    /// <summary>The values fine-tuning started from.</summary>
    public IReadOnlyList<float> Initial { get; }

    public float Min { get; }
    public float Max { get; }

    /// <summary>The shape of the constant.</summary>
    public long[] Shape => Quantizer.Node.Owner.GetValue(Name).ConstantValue!.Shape.ToArray();

    public Tensor ToTensor() => Tensor.FromFloats((float[])Values.Clone(), Shape);

    /// <summary>Keeps the values in range: scales stay positive, zero points inside the integer grid.</summary>
    public void Constrain()
    {
        for (var i = 0; i < Values.Length; i++)
        {
            Values[i] = Math.Clamp(Values[i], Min, Max);
        }
    }

    /// <summary>The largest relative change from the initial values (|Δ| / |initial|, or |Δ| where it was 0).</summary>
    public double MaxRelativeChange()
    {
        var max = 0.0;
        for (var i = 0; i < Values.Length; i++)
        {
            var delta = Math.Abs(Values[i] - (double)Initial[i]);
            max = Math.Max(max, Initial[i] == 0 ? delta : delta / Math.Abs(Initial[i]));
        }
        return max;
    }

    public override string ToString() => $"{Name} ({Role}, {Values.Length} values)";
}
