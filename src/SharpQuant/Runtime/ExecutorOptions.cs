using Microsoft.ML.OnnxRuntime;

namespace SharpQuant.Runtime;

/// <summary>Where ONNX Runtime runs the graph.</summary>
public enum ExecutionProvider
{
    Cpu,
    Cuda,
}

/// <summary>ONNX Runtime session settings for an executor.</summary>
public sealed record ExecutorOptions
{
    /// <summary>Threads inside one op; 0 lets ONNX Runtime choose (one per physical core).</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>Threads across independent ops; 0 lets ONNX Runtime choose.</summary>
    public int InterOpThreads { get; init; }

    public GraphOptimizationLevel OptimizationLevel { get; init; } = GraphOptimizationLevel.ORT_ENABLE_ALL;
    public ExecutionProvider Provider { get; init; } = ExecutionProvider.Cpu;
    public int CudaDeviceId { get; init; }

    /// <summary>
    /// ONNX Runtime graph transformers to leave out by name (for example NchwcTransformer, or ConvMulFusion, which
    /// the simulation leaves out so that integer convolutions stay exact).
    /// </summary>
    public IReadOnlyList<string> DisabledOptimizers { get; init; } = [];

    /// <summary>How many sessions (one per set of taps) are kept before the least recently used is closed.</summary>
    public int MaxCachedSessions { get; init; } = 8;

    /// <summary>
    /// Whether ONNX Runtime's intra-op threads spin while waiting for work (its default) instead of sleeping.
    /// Spinning shortens the hand-over between ops, but burns cores that other work running beside the session needs.
    /// </summary>
    public bool AllowSpinning { get; init; } = true;

    /// <summary>
    /// The caller reads each tapped value only as a multiset (histograms, extremes), never element by element, so
    /// ONNX Runtime may return taps in its internal blocked channel layout and skip reordering them back to NCHW
    /// (see <see cref="BlockedLayoutTaps"/>). Shapes and graph outputs are unaffected. Set only inside the library
    /// (calibration): an API that reads channels, such as bias correction, must never receive such taps.
    /// </summary>
    public bool TapsInAnyOrder { get; internal init; }

    public static ExecutorOptions Default { get; } = new();

    /// <summary>Builds the ONNX Runtime options; the caller disposes them.</summary>
    public SessionOptions CreateSessionOptions()
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = OptimizationLevel,
            IntraOpNumThreads = IntraOpThreads,
            InterOpNumThreads = InterOpThreads,
            // ORT's warnings (unused initializers, shape merges) are noise for our users; errors still surface as exceptions.
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        if (!AllowSpinning)
        {
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        }
        if (DisabledOptimizers.Count > 0)
        {
            options.AddSessionConfigEntry("optimization.disable_specified_optimizers", string.Join(';', DisabledOptimizers));
        }
        if (Provider == ExecutionProvider.Cuda)
        {
            if (!ExecutionProviders.IsCudaAvailable())
            {
                options.Dispose();
                throw new SharpQuantException(
                    "the CUDA execution provider is not available: build with -p:SharpQuantCuda=true on a machine with CUDA and an NVIDIA GPU");
            }
            try
            {
                options.AppendExecutionProvider_CUDA(CudaDeviceId);
            }
            catch (OnnxRuntimeException e)
            {
                options.Dispose();
                throw new SharpQuantException($"the CUDA execution provider could not start: {e.Message}", e);
            }
        }
        return options;
    }
}

/// <summary>What the ONNX Runtime build in use offers.</summary>
public static class ExecutionProviders
{
    public static IReadOnlyList<string> Available() => OrtEnv.Instance().GetAvailableProviders();

    /// <summary>
    /// True when this ONNX Runtime build has the CUDA provider and it starts: the GPU build lists the provider even
    /// on a machine without CUDA libraries or a GPU, where appending it fails.
    /// </summary>
    public static bool IsCudaAvailable()
    {
        if (!Available().Contains("CUDAExecutionProvider"))
        {
            return false;
        }
        try
        {
            using var options = new SessionOptions();
            options.AppendExecutionProvider_CUDA(0);
            return true;
        }
        catch (OnnxRuntimeException)
        {
            return false;
        }
    }
}
