using System.Numerics.Tensors;

namespace SharpQuant.Quantization.Observers;

/// <summary>Per-channel minimum and maximum of one batch (one channel for per-tensor specs), vectorized.</summary>
internal static class ChannelExtremes
{
    public static (float[] Min, float[] Max) Of(Tensor values, int? axis)
    {
        var (outer, channels, inner) = QuantMath.ChannelLayout(values.Shape, axis);
        var min = new float[channels];
        var max = new float[channels];
        Array.Fill(min, float.PositiveInfinity);
        Array.Fill(max, float.NegativeInfinity);
        var data = values.Floats;
        for (long o = 0; o < outer; o++)
        {
            for (var c = 0; c < channels; c++)
            {
                var run = data.Slice((int)((o * channels + c) * inner), (int)inner);
                if (run.IsEmpty)
                {
                    continue;
                }
                min[c] = Math.Min(min[c], TensorPrimitives.Min(run));
                max[c] = Math.Max(max[c], TensorPrimitives.Max(run));
            }
        }
        return (min, max);
    }
}
