using System.Globalization;
using System.Text;

namespace SharpQuant.Quantization;

/// <summary>One quantizer's parameters, for printing and JSON.</summary>
public sealed record QuantizerParameters(string Name, string Kind, string Target, string Spec, float[] Scale, int[] ZeroPoint, int? Axis);

/// <summary>Scale and zero point per quantizer, printed as the tutorial's print_scale does.</summary>
public static class QParamsReport
{
    public static IReadOnlyList<QuantizerParameters> Of(QuantSim sim, string glob = "*") =>
        sim.Match(glob).Select(q =>
        {
            var p = q.QParams;
            return new QuantizerParameters(q.Name, q.Kind.ToString().ToLowerInvariant(), q.Target, q.Spec.Describe(), p.Scale, p.ZeroPoint, p.Axis);
        }).ToList();

    /// <summary>
    /// <c>layer2.0.conv1.weight_fake_quant scale: 0.0123</c> for one value, or the vector of per-channel scales
    /// (nine to a line, four significant digits) followed by the zero points when any is not zero.
    /// </summary>
    public static string Format(QuantizerParameters q)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        if (q.Scale.Length == 1)
        {
            sb.Append(c, $"{q.Name} scale: {q.Scale[0]:G5} zero_point: {q.ZeroPoint[0]}");
            return sb.ToString();
        }
        sb.Append(c, $"{q.Name} scale ({q.Scale.Length} channels, axis {q.Axis}):");
        for (var i = 0; i < q.Scale.Length; i++)
        {
            sb.Append(i % 9 == 0 ? "\n  " : " ");
            sb.Append(q.Scale[i].ToString("0.0000e+0", c));
        }
        if (q.ZeroPoint.Any(z => z != 0))
        {
            sb.Append("\n  zero_point: ").Append(string.Join(' ', q.ZeroPoint));
        }
        return sb.ToString();
    }
}
