namespace SharpQuant.Quantization;

/// <summary>
/// The quantization formulas of DESIGN.md, in plain C#: the reference every lowering and export is tested against.
/// q = clamp(round_half_even(x / s) + z, qmin, qmax), x̂ = (q − z)·s, all in float32 as ONNX computes it.
/// </summary>
public static class QuantMath
{
    /// <summary>float32 machine epsilon: the smallest scale a quantizer may have.</summary>
    public const float Eps = 1.1920929e-7f;

    /// <summary>Scale and zero point for the range [lo, hi] (widened to include 0) under <paramref name="spec"/>.</summary>
    public static (float Scale, int ZeroPoint) FromRange(double lo, double hi, QuantSpec spec)
    {
        lo = Math.Min(lo, 0);
        hi = Math.Max(hi, 0);
        if (!double.IsFinite(lo) || !double.IsFinite(hi))
        {
            throw new SharpQuantException($"cannot quantize the range [{lo}, {hi}]: it is not finite (NaN or infinite values reached the observer)");
        }
        int qmin = spec.QMin, qmax = spec.QMax;
        switch (spec.Scheme)
        {
            case QuantScheme.Affine:
            {
                var scale = (float)Math.Max((hi - lo) / (qmax - qmin), Eps);
                var zero = Math.Clamp(qmin - (int)Math.Round(lo / scale, MidpointRounding.ToEven), qmin, qmax);
                return (scale, zero);
            }
            case QuantScheme.StrictSymmetric:
                return ((float)Math.Max(Math.Max(-lo, hi) / qmax, Eps), 0);
            default:
            {
                var scale = (float)Math.Max(Math.Max(-lo, hi) / ((qmax - qmin) / 2.0), Eps);
                // Unsigned symmetric puts zero in the middle of the grid (128 for uint8), as PyTorch does.
                return (scale, spec.Signed ? 0 : (qmin + qmax + 1) / 2);
            }
        }
    }

    /// <summary>QParams for one range per channel (or one range for per-tensor specs).</summary>
    public static QParams FromRanges(IReadOnlyList<(double Lo, double Hi)> ranges, QuantSpec spec)
    {
        var scales = new float[ranges.Count];
        var zeros = new int[ranges.Count];
        for (var i = 0; i < ranges.Count; i++)
        {
            (scales[i], zeros[i]) = FromRange(ranges[i].Lo, ranges[i].Hi, spec);
        }
        return new QParams(scales, zeros, spec.Axis, spec.QMin, spec.QMax);
    }

    /// <summary>The integer q for x.</summary>
    public static int Quantize(float x, float scale, int zeroPoint, int qmin, int qmax)
    {
        var q = MathF.Round(x / scale, MidpointRounding.ToEven) + zeroPoint;
        return (int)Math.Clamp(q, qmin, qmax);
    }

    /// <summary>x̂ for x, computed in float32 with the same operation order as the lowered ONNX graph.</summary>
    public static float FakeQuantize(float x, float scale, float zeroPoint, float qmin, float qmax)
    {
        var q = MathF.Round(x / scale, MidpointRounding.ToEven) + zeroPoint;
        q = Math.Clamp(q, qmin, qmax);
        return (q - zeroPoint) * scale;
    }

    /// <summary>Fake-quantizes a whole tensor (per channel along the qparams' axis) into a new tensor.</summary>
    public static Tensor FakeQuantize(Tensor x, QParams p) =>
        Tensor.FromFloats(MapChannels(x, p, (v, k) => FakeQuantize(v, p.Scale[k], p.ZeroPoint[k], p.QMin, p.QMax)), x.Shape.ToArray());

    /// <summary>The integers q of a whole tensor (per channel along the qparams' axis), in the tensor's order.</summary>
    public static int[] Quantize(Tensor x, QParams p) =>
        MapChannels(x, p, (v, k) => Quantize(v, p.Scale[k], p.ZeroPoint[k], p.QMin, p.QMax));

    /// <summary>
    /// A bias on the int32 grid s_x·s_w with zero point 0, as the QDQ export stores it (saturated to int32): the
    /// export, the simulation's rounded bias and its integer convolutions all take it from here.
    /// </summary>
    public static int QuantizeBias(float bias, float step) =>
        (int)Math.Clamp(Math.Round(bias / (double)step, MidpointRounding.ToEven), int.MinValue, int.MaxValue);

    /// <summary>f(value, k) for every value, k the value's channel along the qparams' axis (0 per tensor).</summary>
    private static T[] MapChannels<T>(Tensor x, QParams p, Func<float, int, T> f)
    {
        var source = x.Floats;
        var result = new T[source.Length];
        var (outer, channels, inner) = ChannelLayout(x.Shape, p);
        for (long o = 0; o < outer; o++)
        {
            for (var c = 0; c < channels; c++)
            {
                var start = (int)((o * channels + c) * inner);
                var k = p.IsPerChannel ? c : 0;
                for (var i = start; i < start + inner; i++)
                {
                    result[i] = f(source[i], k);
                }
            }
        }
        return result;
    }

    /// <summary>A tensor seen as [outer, channels, inner] around the qparams' axis (channels = 1 per tensor).</summary>
    public static (long Outer, int Channels, long Inner) ChannelLayout(IReadOnlyList<long> shape, QParams p) =>
        ChannelLayout(shape, p.Axis);

    public static (long Outer, int Channels, long Inner) ChannelLayout(IReadOnlyList<long> shape, int? axis)
    {
        if (axis is not { } a)
        {
            return (1, 1, Shapes.ElementCount(shape));
        }
        if (a < 0)
        {
            a += shape.Count;
        }
        long outer = 1, inner = 1;
        for (var i = 0; i < a; i++)
        {
            outer *= shape[i];
        }
        for (var i = a + 1; i < shape.Count; i++)
        {
            inner *= shape[i];
        }
        return (outer, (int)shape[a], inner);
    }
}
