using System.Text.RegularExpressions;

namespace SharpQuant.Quantization;

/// <summary>What to quantize around one layer: its output activation and its weight. A null part is not quantized.</summary>
public sealed record QConfig(QuantSpec? Activation, QuantSpec? Weight)
{
    /// <summary>The tutorial's global qconfig: histogram-observed uint8 activations, per-channel int8 min-max weights.</summary>
    public static QConfig Default { get; } = new(QuantSpec.FakeQuantAct, QuantSpec.FakeQuantWeight);
}

/// <summary>
/// Which qconfig applies to which node, as PyTorch's QConfigMapping. Resolution order, first match wins:
/// (1) exclusions (no quantization), (2) exact module name, (3) module-name patterns in the order they were added
/// (glob: <c>*</c> any run of characters, <c>?</c> one character), (4) op type, (5) the global qconfig.
/// Setting a null qconfig at any level turns quantization off for what it matches.
/// </summary>
public sealed class QConfigMapping
{
    private readonly Dictionary<string, QConfig?> _byName = new(StringComparer.Ordinal);
    private readonly List<(Regex Pattern, string Glob, QConfig? Config)> _byPattern = [];
    private readonly Dictionary<string, QConfig?> _byOpType = new(StringComparer.Ordinal);
    private readonly List<Regex> _exclusions = [];

    public QConfig? Global { get; private set; }

    public QConfigMapping SetGlobal(QConfig? config)
    {
        Global = config;
        return this;
    }

    public QConfigMapping SetOpType(string opType, QConfig? config)
    {
        _byOpType[opType] = config;
        return this;
    }

    public QConfigMapping SetModuleName(string moduleName, QConfig? config)
    {
        _byName[moduleName] = config;
        return this;
    }

    public QConfigMapping SetModuleNamePattern(string glob, QConfig? config)
    {
        _byPattern.Add((NamePattern.Glob(glob), glob, config));
        return this;
    }

    /// <summary>Never quantize modules whose name matches <paramref name="nameOrGlob"/>.</summary>
    public QConfigMapping Exclude(string nameOrGlob)
    {
        _exclusions.Add(NamePattern.Glob(nameOrGlob));
        return this;
    }

    public QConfig? Resolve(Node node)
    {
        var name = node.ModuleName;
        if (_exclusions.Any(e => e.IsMatch(name)))
        {
            return null;
        }
        if (_byName.TryGetValue(name, out var exact))
        {
            return exact;
        }
        foreach (var (pattern, _, config) in _byPattern)
        {
            if (pattern.IsMatch(name))
            {
                return config;
            }
        }
        return _byOpType.TryGetValue(node.OpType, out var byOp) ? byOp : Global;
    }

    /// <summary>The global default: every layer and activation with the tutorial's fake_quant_act / fake_quant_weight.</summary>
    public static QConfigMapping Default() => new QConfigMapping().SetGlobal(QConfig.Default);

    /// <summary>
    /// The tutorial's learnable mapping: global defaults, and each conv (by module name) with learnable_act(range)
    /// and learnable_weights(out channels).
    /// </summary>
    public static QConfigMapping TutorialLearnable(Graph graph, double activationRange = 2)
    {
        var mapping = Default();
        foreach (var conv in graph.Nodes.Where(n => n.OpType is "Conv" && n.ConstantInput(1) is not null))
        {
            var channels = (int)conv.ConstantInput(1)!.Shape[0];
            mapping.SetModuleName(conv.ModuleName, new QConfig(QuantSpec.LearnableAct(activationRange), QuantSpec.LearnableWeights(channels)));
        }
        return mapping;
    }
}
