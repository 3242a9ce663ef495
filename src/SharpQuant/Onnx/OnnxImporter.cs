using Google.Protobuf;
using Proto = global::Onnx;

namespace SharpQuant.Onnx;

/// <summary>
/// Builds the IR from an ONNX ModelProto. Initializers and Constant nodes both become IR constants; node order
/// is made topological; every input must be defined. The result is checked against ONNX Runtime's rules
/// (<see cref="Checks.ModelChecker"/>): unknown ops and domains, and invalid layers, are refused on load.
/// </summary>
internal static class OnnxImporter
{
    /// <summary>
    /// The default-domain opsets SharpQuant reads. Models below opset 7 are read as they are (their nodes keep their
    /// old forms); <see cref="LegacyOpsetForms"/> refuses the few old forms whose meaning later opsets dropped.
    /// </summary>
    public const long MinOpset = 1;
    public const long MaxOpset = 23;

    public static Proto.ModelProto Parse(Stream stream, string source)
    {
        Proto.ModelProto model;
        try
        {
            model = Proto.ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidModelException($"'{source}' is not a readable ONNX model: {e.Message.TrimEnd('.')} (truncated or not an ONNX file?)", e);
        }
        // Protobuf accepts almost any bytes as an empty message; an ONNX model has an IR version, opsets and a graph.
        if (model.IrVersion <= 0 || model.Graph is null || model.OpsetImport.Count == 0)
        {
            throw new InvalidModelException($"'{source}' is not an ONNX model (no IR version, opset or graph found)");
        }
        return model;
    }

    public static Graph ToGraph(Proto.ModelProto model, ExternalDataResolver? externalData, bool checkFile = true)
    {
        var info = ReadInfo(model);
        // A model of other domains only (training ops, say) imports no default opset, and has none to check.
        if (info.Opsets.TryGetValue("", out var opset) && (opset < MinOpset || opset > MaxOpset))
        {
            throw new InvalidModelException($"the model uses ONNX opset {opset}; SharpQuant reads opsets {MinOpset} to {MaxOpset}");
        }
        if (checkFile)
        {
            ModelProtoChecks.Check(model);
        }
        var g = model.Graph;
        var graph = new Graph(info);

        // Before IR version 4 every initializer must be listed as an input too, so the listing means nothing: those are
        // constants. From version 4 on, an initializer of an input is that input's default, and the input can be fed.
        var inputNames = g.Input.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var defaults = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var init in g.Initializer)
        {
            var tensor = TensorProtoConverter.ToTensor(init, externalData);
            if (model.IrVersion >= 4 && inputNames.Contains(init.Name))
            {
                if (!defaults.TryAdd(init.Name, tensor))
                {
                    throw new InvalidModelException($"initializer '{init.Name}' is given more than once");
                }
                continue;
            }
            graph.AddConstantNamed(init.Name, tensor);
        }
        if (g.SparseInitializer.Count > 0)
        {
            throw new InvalidModelException($"the model has {g.SparseInitializer.Count} sparse initializers, which SharpQuant does not read");
        }
        foreach (var input in g.Input)
        {
            if (graph.FindValue(input.Name) is { IsConstant: true })
            {
                continue;
            }
            var (type, shape) = ReadType(input);
            var value = graph.AddInput(input.Name, type, shape);
            value.NonTensorType = NonTensorType(input);
            value.DefaultValue = defaults.GetValueOrDefault(input.Name);
        }

        var pending = new List<(Node Node, Proto.NodeProto Proto)>();
        foreach (var n in g.Node)
        {
            if (n.OpType == "Constant" && n.Domain is "" or "ai.onnx" && n.Output.Count == 1 && TryConstantNodeValue(n, externalData) is { } constant)
            {
                graph.AddConstantNamed(n.Output[0], constant);
                continue;
            }
            var outputs = n.Output.Select((o, i) => o.Length > 0 ? o : graph.UniqueName($"{n.Name}_unused_output{i}"));
            Node node;
            try
            {
                node = graph.AddNodeWithOutputs(n.OpType, n.Domain, n.Name, [], outputs);
            }
            catch (GraphValidationException e)
            {
                throw new InvalidModelException($"node '{NodeLabel(n)}' ({n.OpType}): {e.Message}");
            }
            node.DocString = n.DocString.Length > 0 ? n.DocString : null;
            foreach (var a in n.Attribute)
            {
                try
                {
                    node.Attributes[a.Name] = AttributeConverter.ToValue(a, externalData);
                }
                catch (InvalidModelException e)
                {
                    throw new InvalidModelException($"node '{NodeLabel(n)}' ({n.OpType}): {e.Message}", e);
                }
            }
            pending.Add((node, n));
        }

        // Inputs are connected after all outputs exist, so a file that is not in topological order still loads.
        foreach (var (node, proto) in pending)
        {
            foreach (var inputName in proto.Input)
            {
                if (inputName.Length == 0)
                {
                    node.AddInput(null);
                    continue;
                }
                var value = graph.FindValue(inputName)
                    ?? throw new InvalidModelException($"node '{NodeLabel(proto)}' ({proto.OpType}) reads '{inputName}', but nothing produces it");
                node.AddInput(value);
            }
        }

        foreach (var output in g.Output)
        {
            var value = graph.FindValue(output.Name)
                ?? throw new InvalidModelException($"graph output '{output.Name}' is never produced");
            ApplyType(value, output);
            graph.AddOutput(value);
        }
        foreach (var vi in g.ValueInfo)
        {
            if (graph.FindValue(vi.Name) is { IsConstant: false } v)
            {
                ApplyType(v, vi);
            }
        }

        try
        {
            graph.SortTopologically();
        }
        catch (GraphValidationException e)
        {
            throw new InvalidModelException(e.Message);
        }
        graph.Validate();
        if (info.Opsets.ContainsKey("") && opset < LegacyOpsetForms.FirstModernOpset)
        {
            LegacyOpsetForms.Check(graph, opset);
        }
        Checks.ModelChecker.Check(graph);
        ModuleNamer.Assign(graph);
        return graph;
    }

    private static string NodeLabel(Proto.NodeProto n) =>
        n.Name.Length > 0 ? n.Name : n.Output.FirstOrDefault(o => o.Length > 0) ?? n.OpType;

    private static ModelInfo ReadInfo(Proto.ModelProto model)
    {
        var info = new ModelInfo
        {
            IrVersion = model.IrVersion,
            ProducerName = model.ProducerName,
            ProducerVersion = model.ProducerVersion,
            Domain = model.Domain,
            ModelVersion = model.ModelVersion,
            DocString = model.DocString,
            GraphName = model.Graph.Name,
        };
        info.Opsets.Clear();
        foreach (var o in model.OpsetImport)
        {
            // Two versions of one domain have no meaning; keeping either would change the model silently.
            var domain = o.Domain == "ai.onnx" ? "" : o.Domain;
            if (!info.Opsets.TryAdd(domain, o.Version))
            {
                var which = domain.Length == 0 ? "the default ONNX domain" : $"domain '{domain}'";
                throw new InvalidModelException($"the model imports {which} twice (opsets {info.Opsets[domain]} and {o.Version}); a model imports each domain once");
            }
        }
        foreach (var p in model.MetadataProps)
        {
            info.MetadataProps[p.Key] = p.Value;
        }
        info.Functions.AddRange(model.Functions);
        return info;
    }

    private static Tensor? TryConstantNodeValue(Proto.NodeProto n, ExternalDataResolver? externalData)
    {
        if (n.Attribute.Count != 1)
        {
            return null;
        }
        var a = n.Attribute[0];
        return a.Name switch
        {
            "value" when a.T is not null => TensorProtoConverter.ToTensor(a.T, externalData),
            "value_float" => Tensor.FromFloats([a.F]).Reshape(),
            "value_floats" => Tensor.FromFloats(a.Floats.ToArray(), a.Floats.Count),
            "value_int" => Tensor.Create([a.I]).Reshape(),
            "value_ints" => Tensor.Create(a.Ints.ToArray(), a.Ints.Count),
            _ => null,
        };
    }

    private static (ElementType Type, IReadOnlyList<Dim>? Shape) ReadType(Proto.ValueInfoProto vi)
    {
        if (vi.Type?.TensorType is not { } tensorType)
        {
            return (ElementType.Undefined, null);
        }
        IReadOnlyList<Dim>? shape = tensorType.Shape is null
            ? null
            : tensorType.Shape.Dim.Select(d => d.HasDimValue ? Dim.Of(d.DimValue) : d.HasDimParam && d.DimParam.Length > 0 ? Dim.Named(d.DimParam) : Dim.Unknown).ToArray();
        return ((ElementType)tensorType.ElemType, shape);
    }

    /// <summary>The declared type where it is a sequence, optional, map or sparse tensor; null for tensors and untyped values.</summary>
    private static Proto.TypeProto? NonTensorType(Proto.ValueInfoProto vi) =>
        vi.Type is { } type && type.ValueCase is not (Proto.TypeProto.ValueOneofCase.TensorType or Proto.TypeProto.ValueOneofCase.None)
            ? type.Clone()
            : null;

    private static void ApplyType(Value value, Proto.ValueInfoProto vi)
    {
        value.NonTensorType ??= NonTensorType(vi);
        var (type, shape) = ReadType(vi);
        if (type != ElementType.Undefined)
        {
            value.ElementType = type;
        }
        if (shape is not null)
        {
            value.Shape = shape;
        }
    }
}
