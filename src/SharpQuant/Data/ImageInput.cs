namespace SharpQuant.Data;

/// <summary>
/// What a model's one image input declares: its name, layout, channel count and (where fixed) height and width.
/// The layout is read from where a channel axis of 1 or 3 lies; inputs that are not images (several inputs, other
/// ranks or element types, 4 or more channels) are refused with the option that fits them: tensor files.
/// </summary>
public sealed record ImageInput(string Name, ImageLayout Layout, int Channels, int? Height, int? Width)
{
    private const string TensorHint = "give tensor files with --inputs DIR (.npy, one per sample or batch)";

    /// <summary>The image input of <paramref name="graph"/>, or one error line saying why it has none.</summary>
    public static ImageInput Of(Graph graph, ImageLayout? layout = null)
    {
        if (graph.Inputs.Count != 1)
        {
            throw new SharpQuantException(
                $"the model has {graph.Inputs.Count} inputs ({string.Join(", ", graph.Inputs.Select(i => $"'{i.Name}'"))}), images feed one; {TensorHint}");
        }
        var input = graph.Inputs[0];
        var shape = input.Shape;
        if (input.ElementType is not (ElementType.Float or ElementType.Undefined))
        {
            throw new SharpQuantException($"input '{input.Name}' takes {input.ElementType.DisplayName()} tensors, not float images; {TensorHint}");
        }
        if (shape is null || shape.Count != 4)
        {
            throw new SharpQuantException(
                $"input '{input.Name}' has shape {Shapes.Format(shape)}, not an image batch [N, C, H, W] or [N, H, W, C]; {TensorHint}");
        }
        // A layout the user gives decides where the shape is ambiguous; one that leaves no 1 or 3 channels is reported
        // by the preset against the layout read from the model.
        var chosen = layout is { } given && ChannelAxis(shape, given).Size is null or 1 or 3 ? given : Detect(shape);
        var (c, h, w) = chosen == ImageLayout.Nchw ? (shape[1], shape[2], shape[3]) : (shape[3], shape[1], shape[2]);

        if (c.Size is { } channels && channels is not (1 or 3))
        {
            throw new SharpQuantException(
                $"input '{input.Name}' {Shapes.Format(shape)} takes {channels} channels ({chosen.Name()}); images give 1 or 3: {TensorHint}");
        }
        return new ImageInput(input.Name, chosen, (int)(c.Size ?? 3), ToInt(h), ToInt(w));
    }

    /// <summary>Whether the model has one image input; where it has not, <paramref name="reason"/> says why.</summary>
    public static bool IsImageModel(Graph graph, out string reason)
    {
        try
        {
            Of(graph);
            reason = "";
            return true;
        }
        catch (SharpQuantException e)
        {
            reason = e.Message;
            return false;
        }
    }

    /// <summary>"3×224×224 NCHW", with "?" for a dynamic size.</summary>
    public string Describe() => $"{Channels}×{Height?.ToString() ?? "?"}×{Width?.ToString() ?? "?"} {Layout.Name()}";

    // NCHW unless the channel axis can only be the last one: [N, H, W, 3] with H not 1 or 3.
    private static ImageLayout Detect(IReadOnlyList<Dim> shape)
    {
        static bool ChannelLike(Dim d) => d.Size is 1 or 3;
        if (ChannelLike(shape[1]))
        {
            return ImageLayout.Nchw;
        }
        return ChannelLike(shape[3]) || (shape[3].Size is { } last && last < 8 && shape[1].Size is null or >= 8)
            ? ImageLayout.Nhwc
            : ImageLayout.Nchw;
    }

    private static Dim ChannelAxis(IReadOnlyList<Dim> shape, ImageLayout layout) => layout == ImageLayout.Nchw ? shape[1] : shape[3];

    private static int? ToInt(Dim d) => d.Size is { } s and > 0 and <= int.MaxValue ? (int)s : null;
}
