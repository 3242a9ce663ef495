namespace SharpQuant.Passes.OpsetConversion;

/// <summary>
/// Scan-8 → 9: opset 8's Scan runs over a batch (axis 0 of every input and output, with optional per-item sequence
/// lengths); opset 9's has no batch axis (its directions attribute is renamed scan_input_directions). With a batch of
/// one and no sequence lengths the two agree once the batch axis is squeezed off the inputs and put back on the
/// outputs; the body, which sees one item at a time in both, stays. Other batches would need a Loop over the items.
/// </summary>
internal sealed class ScanConverter : IOpConverter
{
    public string? Refusal(OpsetConversionContext context, Node node) =>
        node.InputOrNull(0) is not null ? "a Scan-8 with sequence lengths has no opset-9 form (Scan-9 always runs the whole sequence)"
        : node.Inputs.Skip(1).Any(i => i is null || i.Shape is not { Count: > 0 } shape || shape[0].Size != 1)
            ? "a Scan-8 over a batch other than a known batch of 1 has no opset-9 form SharpQuant writes (it would need a Loop over the batch)"
        : null;

    public void Convert(OpsetConversionContext context, Node node)
    {
        var inputs = node.Inputs.Skip(1).ToList();
        var squeezed = inputs.Select((v, i) => context.WithAxes(node, "Squeeze", $"unbatch{i}", v!, [0]).Output).ToList();
        var attributes = node.Attributes.Where(a => a.Key != "directions").ToDictionary(a => a.Key, a => a.Value);
        if (node.Attributes.TryGetValue("directions", out var directions))
        {
            attributes["scan_input_directions"] = directions;
        }
        var scan = context.Add(node, "Scan", "unbatched", squeezed, attributes, node.Outputs.Count);
        for (var i = 0; i < node.Outputs.Count; i++)
        {
            scan.Outputs[i].ElementType = node.Outputs[i].ElementType;
            var batched = context.WithAxes(node, "Unsqueeze", $"batch{i}", scan.Outputs[i], [0]);
            context.Reroute(node.Outputs[i], batched.Output);
        }
        scan.Name = node.Name;
        scan.ModuleName = node.ModuleName;
        node.Owner.RemoveNode(node);
    }
}
