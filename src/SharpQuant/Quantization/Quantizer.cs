using SharpQuant.Quantization.Observers;

namespace SharpQuant.Quantization;

public enum QuantizerKind
{
    Weight,
    Activation,
}

/// <summary>
/// One quantization point of a <see cref="QuantSim"/>: its FakeQuant node, spec, observer and toggles
/// (observe, fake-quant, learn: PyTorch's toggle_observer_update, toggle_fake_quant and enable_param_learning).
/// </summary>
public sealed class Quantizer
{
    internal Quantizer(string name, QuantizerKind kind, QuantSpec spec, Node node, string target)
    {
        Name = name;
        Kind = kind;
        Spec = spec;
        Node = node;
        Target = target;
        Observer = ObserverFactory.Create(spec);
    }

    /// <summary>As PyTorch names them: <c>layer2.0.conv1.weight_fake_quant</c>, <c>layer2.0.relu.activation_fake_quant</c>.</summary>
    public string Name { get; }

    public QuantizerKind Kind { get; }
    public QuantSpec Spec { get; }
    public Node Node { get; }

    /// <summary>The layer (weights) or value (activations) it quantizes.</summary>
    public string Target { get; }

    public IObserver Observer { get; }
    public bool ObserverEnabled { get; set; } = true;
    public bool LearningEnabled { get; set; }

    public bool FakeQuantEnabled
    {
        get => FakeQuantOp.IsEnabled(Node);
        set => FakeQuantOp.SetEnabled(Node, value);
    }

    /// <summary>The value this quantizer reads (its FakeQuant's input).</summary>
    public Value Input => Node.Input(0);

    public QParams QParams => FakeQuantOp.Read(Node);

    /// <summary>Observes a batch of the values this quantizer sees, if its observer is on.</summary>
    public void Observe(Tensor values)
    {
        if (ObserverEnabled)
        {
            Observer.Observe(values);
        }
    }

    /// <summary>Scale and zero point from what the observer saw; null when it saw nothing. Does not touch the graph.</summary>
    public QParams? ProposeQParams() => Observer.HasData ? QuantMath.FromRanges(Observer.Ranges(), Spec) : null;

    /// <summary>Sets scale and zero point from what the observer saw (no change when it saw nothing).</summary>
    public void UpdateQParams()
    {
        if (ProposeQParams() is { } p)
        {
            FakeQuantOp.Write(Node, p);
        }
    }

    /// <summary>Sets scale and zero point directly (learned values, or values loaded from elsewhere).</summary>
    public void SetQParams(QParams qparams) => FakeQuantOp.Write(Node, qparams);

    public override string ToString() => $"{Name} ({Spec.Describe()})";
}
