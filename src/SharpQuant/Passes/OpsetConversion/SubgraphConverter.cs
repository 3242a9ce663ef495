using Google.Protobuf;
using SharpQuant.Onnx;
using Proto = global::Onnx;

namespace SharpQuant.Passes.OpsetConversion;

/// <summary>
/// The bodies of If, Loop and Scan follow the model's opset too, so they are raised with it. A body is kept as a
/// protobuf message on its node; it is read into a graph of its own (values it reads from the enclosing graphs become
/// placeholder inputs), converted with the same converters, and written back without the placeholders.
/// </summary>
internal static class SubgraphConverter
{
    /// <summary>Every default-domain node in the bodies of <paramref name="node"/>, nested bodies included.</summary>
    public static IEnumerable<Proto.NodeProto> NodesInside(Node node) =>
        Bodies(node).SelectMany(b => AllNodes(b.Body));

    public static void Raise(OpsetConversionContext context, Node node)
    {
        foreach (var (name, body, index) in Bodies(node).ToList())
        {
            var raised = RaiseBody(context, body);
            var attribute = node.Attributes[name];
            node.Attributes[name] = index < 0
                ? new AttributeValue(AttributeKind.Graph, raised)
                : attribute with { Value = ((IMessage[])attribute.Value).Select((m, i) => i == index ? raised : m).ToArray() };
        }
        node.Owner.Touch();
    }

    private static Proto.GraphProto RaiseBody(OpsetConversionContext context, Proto.GraphProto body)
    {
        var defined = new HashSet<string>(body.Input.Select(i => i.Name).Concat(body.Initializer.Select(i => i.Name)).Concat(body.Node.SelectMany(n => n.Output)), StringComparer.Ordinal);
        var outer = body.Node.SelectMany(n => n.Input).Concat(body.Output.Select(o => o.Name))
            .Where(n => n.Length > 0 && !defined.Contains(n)).Distinct(StringComparer.Ordinal).ToList();
        var copy = body.Clone();
        copy.Input.AddRange(outer.Select(n => new Proto.ValueInfoProto { Name = n }));
        var model = new Proto.ModelProto { IrVersion = Math.Max(context.Graph.Info.IrVersion, 7), Graph = copy };
        foreach (var (domain, version) in context.Graph.Info.Opsets)
        {
            model.OpsetImport.Add(new Proto.OperatorSetIdProto { Domain = domain, Version = domain.Length == 0 ? context.From : version });
        }
        // A body with its outer values as untyped inputs is no model file: the file checks do not apply.
        var graph = OnnxImporter.ToGraph(model, null, checkFile: false);
        OpsetConverter.Raise(graph, context.To);
        var written = OnnxExporter.ToModelProto(graph).Graph;
        var placeholders = new HashSet<string>(outer, StringComparer.Ordinal);
        foreach (var input in written.Input.Where(i => placeholders.Contains(i.Name)).ToList())
        {
            written.Input.Remove(input);
        }
        written.Name = body.Name;
        return written;
    }

    private static IEnumerable<(string Name, Proto.GraphProto Body, int Index)> Bodies(Node node)
    {
        foreach (var (name, attribute) in node.Attributes)
        {
            if (attribute.Value is Proto.GraphProto g)
            {
                yield return (name, g, -1);
            }
            else if (attribute.Value is IMessage[] messages)
            {
                for (var i = 0; i < messages.Length; i++)
                {
                    if (messages[i] is Proto.GraphProto body)
                    {
                        yield return (name, body, i);
                    }
                }
            }
        }
    }

    private static IEnumerable<Proto.NodeProto> AllNodes(Proto.GraphProto graph) =>
        graph.Node.Concat(graph.Node.SelectMany(n => n.Attribute).SelectMany(a => a.G is null ? a.Graphs : a.Graphs.Append(a.G)).SelectMany(AllNodes));
}
