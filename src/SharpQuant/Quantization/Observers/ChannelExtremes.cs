using System.Numerics;
using System.Runtime.CompilerServices;

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
                var (runMin, runMax) = MinMax(run);
                min[c] = Math.Min(min[c], runMin);
                max[c] = Math.Max(max[c], runMax);
            }
        }
        return (min, max);
    }

    /// <summary>
    /// The minimum and maximum of a non-empty span in one pass, equal bit for bit to TensorPrimitives.Min and
    /// TensorPrimitives.Max: NaN when any value is NaN, and −0 below +0. Activations are megabytes, beyond the
    /// caches, so reading them once instead of twice halves the cost. Vector.Min and Vector.Max follow IEEE
    /// 754:2019 minimum and maximum (NaN propagates, −0 &lt; +0), as Math.Min and Math.Max do, so the order in
    /// which values are folded cannot change the result.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (float Min, float Max) MinMax(ReadOnlySpan<float> values)
    {
        var lo = new Vector<float>(float.PositiveInfinity);
        var hi = new Vector<float>(float.NegativeInfinity);
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var width = Vector<float>.Count;
            for (; i + width <= values.Length; i += width)
            {
                var x = new Vector<float>(values.Slice(i, width));
                lo = Vector.Min(lo, x);
                hi = Vector.Max(hi, x);
            }
        }
        var (min, max) = Reduce(lo, hi);
        for (; i < values.Length; i++)
        {
            min = Math.Min(min, values[i]);
            max = Math.Max(max, values[i]);
        }
        return (min, max);
    }

    /// <summary>
    /// The extremes over the lanes of two running vectors. They come by value: indexing a hot loop's own vector
    /// by a variable lane would make the JIT keep it in memory, through the whole loop (and so must not be inlined).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static (float Min, float Max) Reduce(Vector<float> lo, Vector<float> hi)
    {
        Span<float> lanes = stackalloc float[2 * Vector<float>.Count];
        lo.CopyTo(lanes);
        hi.CopyTo(lanes[Vector<float>.Count..]);
        return ReduceLanes(lanes);
    }

    /// <summary>
    /// The extremes over running vectors' lanes, given as the lanes of the minima followed by those of the maxima
    /// (every vector width copies its two vectors into one span and reduces here).
    /// </summary>
    public static (float Min, float Max) ReduceLanes(ReadOnlySpan<float> lanes)
    {
        var width = lanes.Length / 2;
        var min = float.PositiveInfinity;
        var max = float.NegativeInfinity;
        for (var k = 0; k < width; k++)
        {
            min = Math.Min(min, lanes[k]);
            max = Math.Max(max, lanes[width + k]);
        }
        return (min, max);
    }
}
