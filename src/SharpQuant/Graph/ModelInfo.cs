using Google.Protobuf;

namespace SharpQuant;

/// <summary>Model-level facts of an ONNX file that the IR carries through unchanged to export.</summary>
public sealed class ModelInfo
{
    public long IrVersion { get; set; } = 8;

    /// <summary>Operator set versions by domain ("" is the default ONNX domain).</summary>
    public Dictionary<string, long> Opsets { get; } = new(StringComparer.Ordinal) { [""] = 13 };

    public string ProducerName { get; set; } = "";
    public string ProducerVersion { get; set; } = "";
    public string Domain { get; set; } = "";
    public long ModelVersion { get; set; }
    public string DocString { get; set; } = "";
    public string GraphName { get; set; } = "graph";
    public Dictionary<string, string> MetadataProps { get; } = new(StringComparer.Ordinal);

    /// <summary>Model-local functions, kept as protobuf messages: the IR does not look inside them.</summary>
    public List<IMessage> Functions { get; } = [];

    /// <summary>The default-domain opset.</summary>
    public long OnnxOpset
    {
        get => Opsets.TryGetValue("", out var v) ? v : Opsets.TryGetValue("ai.onnx", out var w) ? w : 1;
        set => Opsets[""] = value;
    }

    public ModelInfo Clone()
    {
        var copy = new ModelInfo
        {
            IrVersion = IrVersion,
            ProducerName = ProducerName,
            ProducerVersion = ProducerVersion,
            Domain = Domain,
            ModelVersion = ModelVersion,
            DocString = DocString,
            GraphName = GraphName,
        };
        copy.Opsets.Clear();
        foreach (var (k, v) in Opsets)
        {
            copy.Opsets[k] = v;
        }
        foreach (var (k, v) in MetadataProps)
        {
            copy.MetadataProps[k] = v;
        }
        copy.Functions.AddRange(Functions.Select(f => f.Descriptor.Parser.ParseFrom(f.ToByteString())));
        return copy;
    }
}
