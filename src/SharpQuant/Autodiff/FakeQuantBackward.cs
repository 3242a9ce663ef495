namespace SharpQuant.Autodiff;

/// <summary>
/// The backward rule of a lowered FakeQuant, following PyTorch's <c>_fake_quantize_learnable_*_backward</c> kernels:
/// with q = Round(x/s) + z before clamping,
/// dx = dy where qmin ≤ q ≤ qmax, else 0 (straight-through inside the range);
/// ds = dy · (x̂ − x)/s inside, dy · (qmin − z) below, dy · (qmax − z) above;
/// dz = 0 inside, −dy · s outside; ds and dz times the grad factor 1/√(numel(x) · qmax) when asked, and summed
/// over every axis but the channel axis (over all axes per tensor).
/// Inside the range (x̂ − x)/s = (q − z) − x/s, and outside (Clip(q) − z) is qmin − z or qmax − z, so
/// ds/dy = (Clip(q) − z) − inside · x/s covers all three cases with values the forward already computed.
/// Where we differ from PyTorch: (1) x/s is a division, as in our forward and ONNX's QuantizeLinear, where PyTorch
/// multiplies by 1/s (the two can round a value that sits on a half-step differently); (2) the zero point is used as
/// the float it holds (our zero points are whole numbers by construction), where PyTorch's backward rounds it as
/// ⌊z + 0.5⌋ and clamps it into [qmin, qmax] first; (3) the grad factor counts numel(x) at run time, so it follows
/// the batch as PyTorch's does (it reads X.numel() on every call); (4) dz is returned for every FakeQuant, learnable
/// or not: which parameters to update is the caller's choice.
/// </summary>
internal static class FakeQuantBackward
{
    public static (Value? Input, Value? Scale, Value? ZeroPoint) Differentiate(GraphEmitter emit, FakeQuantUnit fq, Value dy, bool needInput, bool needScale, bool needZeroPoint)
    {
        var inRange = emit.OpTyped("And", ElementType.Bool,
            [emit.Bool("GreaterOrEqual", fq.Unclamped, emit.Scalar(fq.QMin)), emit.Bool("LessOrEqual", fq.Unclamped, emit.Scalar(fq.QMax))]);
        var inside = emit.Cast(inRange, ElementType.Float);
        Value? dx = needInput ? emit.Mul(dy, inside) : null;
        Value? factor = fq.GradientScaled && (needScale || needZeroPoint)
            ? emit.Op("Reciprocal", [emit.Op("Sqrt", [emit.Mul(emit.SizeAsFloat(fq.Input), emit.Scalar(fq.QMax))])])
            : null;
        Value? ds = null;
        if (needScale)
        {
            var perElement = emit.Sub(fq.Centered, emit.Mul(inside, fq.Scaled));
            ds = PerChannel(emit, fq, emit.Mul(dy, perElement), factor, fq.Scale);
        }
        Value? dz = null;
        if (needZeroPoint)
        {
            // (inside − 1) · s is −s outside the range and 0 inside.
            var perElement = emit.Mul(emit.Sub(inside, emit.Scalar(1f)), fq.ScaleBroadcast);
            dz = PerChannel(emit, fq, emit.Mul(dy, perElement), factor, fq.ZeroPoint);
        }
        return (dx, ds, dz);
    }

    private static Value PerChannel(GraphEmitter emit, FakeQuantUnit fq, Value perElement, Value? factor, Value parameter)
    {
        var rank = BackwardRules.RankOf(fq.Input);
        var axes = fq.Axis is { } axis
            ? Enumerable.Range(0, rank).Where(i => i != axis).Select(i => (long)i).ToArray()
            : Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
        Value sum = axes.Length == 0 ? perElement : emit.ReduceSum(perElement, axes, keepDims: false);
        if (factor is not null)
        {
            sum = emit.Mul(sum, factor);
        }
        return emit.ReshapeLike(sum, parameter);
    }
}
