namespace SharpQuant.Autodiff;

/// <summary>
/// The static geometry of a Conv or ConvTranspose as its backward rules need it: kernel, strides, dilations,
/// explicit pads (auto_pad resolved), group, and the spatial sizes of X and Y.
/// </summary>
internal sealed record ConvGeometry(long[] Kernel, long[] Strides, long[] Dilations, long[] Pads, long Group, long[] InputSize, long[] OutputSize)
{
    public int Spatial => Kernel.Length;

    public long EffectiveKernel(int i) => (Dilations[i] * (Kernel[i] - 1)) + 1;

    public static ConvGeometry Of(Node node, Value x, Value w, Value y, bool transposed)
    {
        var rank = BackwardRules.RankOf(x);
        var spatial = rank - 2;
        var kernel = node.GetInts("kernel_shape") ?? Enumerable.Range(2, spatial).Select(i => BackwardRules.StaticDim(w, i, node)).ToArray();
        var strides = node.GetInts("strides") ?? Ones(spatial);
        var dilations = node.GetInts("dilations") ?? Ones(spatial);
        var group = node.GetInt("group", 1);
        var inputSize = Enumerable.Range(2, spatial).Select(i => BackwardRules.StaticDim(x, i, node)).ToArray();
        var outputSize = Enumerable.Range(2, spatial).Select(i => BackwardRules.StaticDim(y, i, node)).ToArray();
        var pads = node.GetInts("pads") ?? new long[2 * spatial];
        var autoPad = node.GetString("auto_pad", "NOTSET");
        if (autoPad is "SAME_UPPER" or "SAME_LOWER" or "VALID")
        {
            pads = new long[2 * spatial];
            var outputPadding = node.GetInts("output_padding") ?? new long[spatial];
            for (var i = 0; autoPad != "VALID" && i < spatial; i++)
            {
                var effective = (dilations[i] * (kernel[i] - 1)) + 1;
                var total = transposed
                    ? ((inputSize[i] - 1) * strides[i]) + outputPadding[i] + effective - outputSize[i]
                    : ((outputSize[i] - 1) * strides[i]) + effective - inputSize[i];
                total = Math.Max(0, total);
                var small = total / 2;
                pads[i] = autoPad == "SAME_UPPER" ? small : total - small;
                pads[i + spatial] = total - pads[i];
            }
        }
        return new ConvGeometry(kernel, strides, dilations, pads, group, inputSize, outputSize);
    }

    private static long[] Ones(int n) => Enumerable.Repeat(1L, n).ToArray();
}
