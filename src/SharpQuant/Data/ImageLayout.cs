namespace SharpQuant.Data;

/// <summary>Where the channel axis of an image input lies.</summary>
public enum ImageLayout
{
    /// <summary>[N, C, H, W], as PyTorch and Paddle export.</summary>
    Nchw,

    /// <summary>[N, H, W, C], as TensorFlow and Keras export (tf2onnx keeps it).</summary>
    Nhwc,
}

/// <summary>The order of the colour channels a model takes.</summary>
public enum ChannelOrder
{
    Rgb,
    Bgr,

    /// <summary>One channel: luma from RGB with the ITU-R BT.601 weights (as PIL's convert("L") computes it).</summary>
    Gray,
}

/// <summary>Names for the CLI and messages.</summary>
public static class ImageLayouts
{
    public static string Name(this ImageLayout layout) => layout == ImageLayout.Nchw ? "NCHW" : "NHWC";

    public static string Name(this ChannelOrder order) => order switch
    {
        ChannelOrder.Rgb => "RGB",
        ChannelOrder.Bgr => "BGR",
        _ => "gray",
    };

    public static ImageLayout ParseLayout(string name) => name.ToUpperInvariant() switch
    {
        "NCHW" => ImageLayout.Nchw,
        "NHWC" => ImageLayout.Nhwc,
        _ => throw new SharpQuantException($"unknown layout '{name}' (use nchw or nhwc)"),
    };

    public static ChannelOrder ParseChannelOrder(string name) => name.ToLowerInvariant() switch
    {
        "rgb" => ChannelOrder.Rgb,
        "bgr" => ChannelOrder.Bgr,
        "gray" or "grey" => ChannelOrder.Gray,
        _ => throw new SharpQuantException($"unknown channel order '{name}' (use rgb, bgr or gray)"),
    };
}
