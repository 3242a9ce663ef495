using SharpQuant.Runtime;

namespace SharpQuant.Tests.Support;

/// <summary>Runs two graphs on the same input in ONNX Runtime and returns max|Δ| / max|y|.</summary>
public static class Invariance
{
    /// <summary>The bound the float-preserving passes are held to (issue #3): max|Δ| / max|y| ≤ 1e-5.</summary>
    public const double Tolerance = 1e-5;

    public static double RelativeError(Graph before, Graph after, Tensor input)
    {
        using var a = new GraphExecutor(before);
        using var b = new GraphExecutor(after);
        return Compare.RelativeMaxError(b.Run(input).Floats, a.Run(input).Floats);
    }

    public static void AssertPreserved(Graph before, Graph after, Tensor input, double tolerance = Tolerance)
    {
        var error = RelativeError(before, after, input);
        Assert.True(error <= tolerance, $"float output changed: max|Δ|/max|y| = {error:E3} > {tolerance:E1}");
    }
}
