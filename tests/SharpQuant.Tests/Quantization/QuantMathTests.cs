using SharpQuant.Quantization;
using SharpQuant.Runtime;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Quantization;

public class QuantMathTests
{
    private static readonly QuantSpec Uint8Affine = new() { Bits = 8, Signed = false, Scheme = QuantScheme.Affine };
    private static readonly QuantSpec Int8Symmetric = new() { Bits = 8, Signed = true, Scheme = QuantScheme.Symmetric };

    [Fact]
    public void AffineRangeFollowsTheFormula()
    {
        var (s, z) = QuantMath.FromRange(-1, 3, Uint8Affine);
        Assert.Equal((float)(4.0 / 255), s);
        // z = clamp(qmin − round(lo / s)) = 0 − round(−63.75) = 64.
        Assert.Equal(64, z);
        // The range is widened to include zero.
        (s, z) = QuantMath.FromRange(0.5, 2, Uint8Affine);
        Assert.Equal((float)(2.0 / 255), s);
        Assert.Equal(0, z);
    }

    [Fact]
    public void SymmetricAndStrictSymmetricFollowTheFormula()
    {
        var (s, z) = QuantMath.FromRange(-0.5, 2, Int8Symmetric);
        Assert.Equal((float)(2 / 127.5), s);
        Assert.Equal(0, z);
        var strict = Int8Symmetric with { Scheme = QuantScheme.StrictSymmetric };
        Assert.Equal(-127, strict.QMin);
        (s, _) = QuantMath.FromRange(-3, 2, strict);
        Assert.Equal((float)(3.0 / 127), s);
        var unsignedSymmetric = Uint8Affine with { Scheme = QuantScheme.Symmetric };
        Assert.Equal(128, QuantMath.FromRange(-1, 1, unsignedSymmetric).ZeroPoint);
    }

    [Fact]
    public void EmptyRangeGetsEpsilonScaleAndNaNIsRefused()
    {
        Assert.Equal(QuantMath.Eps, QuantMath.FromRange(0, 0, Uint8Affine).Scale);
        Assert.Equal(QuantMath.Eps, QuantMath.FromRange(0, 0, Int8Symmetric).Scale);
        Assert.Throws<SharpQuantException>(() => QuantMath.FromRange(double.NaN, 1, Int8Symmetric));
    }

    [Theory]
    [InlineData(4, true, QuantScheme.Symmetric)]
    [InlineData(2, false, QuantScheme.Affine)]
    [InlineData(8, false, QuantScheme.Affine)]
    [InlineData(8, true, QuantScheme.StrictSymmetric)]
    [InlineData(5, true, QuantScheme.Affine)]
    [InlineData(16, true, QuantScheme.Symmetric)]
    public void LoweredFakeQuantEqualsTheFormulaBitForBitTiesIncluded(int bits, bool signed, QuantScheme scheme)
    {
        var spec = new QuantSpec { Bits = bits, Signed = signed, Scheme = scheme };
        var (s, z) = QuantMath.FromRange(-1.3, 2.1, spec);
        var random = new Random(bits * 31 + (signed ? 1 : 0));
        var data = new float[4096];
        for (var i = 0; i < data.Length; i++)
        {
            // Half of the values sit exactly halfway between two grid points, to test round-half-to-even.
            data[i] = i % 2 == 0
                ? (float)(random.NextDouble() * 5 - 2.5)
                : (random.Next(-300, 300) + 0.5f) * s;
        }
        var p = new QParams([s], [z], null, spec.QMin, spec.QMax);
        AssertLoweringMatches(Tensor.FromFloats(data, 4, 1024), p);
    }

    [Fact]
    public void PerChannelLoweringEqualsTheFormula()
    {
        var weights = Compare.RandomTensor(5, -2, 2, 3, 2, 3, 3);
        var p = new QParams([0.01f, 0.05f, 0.3f], [0, 0, 0], 0, -128, 127);
        AssertLoweringMatches(weights, p);
        var activations = Compare.RandomTensor(6, -2, 2, 2, 3, 4, 4);
        AssertLoweringMatches(activations, p with { Axis = 1, ZeroPoint = [3, -2, 0] });
    }

    private static void AssertLoweringMatches(Tensor x, QParams p)
    {
        var g = new Graph();
        var input = g.AddInput("x", ElementType.Float, x.Shape.Select(Dim.Of).ToArray());
        var fq = FakeQuantOp.Insert(g, input, p, "fq", after: null);
        g.AddOutput(fq.Output);
        using var executor = new GraphExecutor(g, lowering: FakeQuantLowering.Lower);
        var actual = executor.Run(x);
        var expected = QuantMath.FakeQuantize(x, p);
        Compare.ExactlyEqual(actual, expected);

        FakeQuantOp.SetEnabled(fq, false);
        Compare.BitwiseEqual(executor.Run(x), x);
    }
}
