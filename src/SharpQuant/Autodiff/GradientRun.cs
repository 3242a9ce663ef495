using SharpQuant.Runtime;

namespace SharpQuant.Autodiff;

/// <summary>The tensors of one gradient run: forward outputs (and the target), and the requested gradients.</summary>
public sealed class GradientRun
{
    private readonly GradientGraph _gradients;
    private readonly RunResult _result;

    internal GradientRun(GradientGraph gradients, RunResult result)
    {
        _gradients = gradients;
        _result = result;
    }

    /// <summary>A forward output of the graph, or the differentiated target.</summary>
    public Tensor Output(string name) => _result[name];

    /// <summary>d(target)/d(<paramref name="value"/>), shaped like the value.</summary>
    public Tensor Gradient(string value) => _result[_gradients.GradientOf(value)];
}
