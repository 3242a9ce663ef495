namespace SharpQuant.Training;

/// <summary>How the quantized model's outputs are compared with the float model's.</summary>
public enum DistillationLossKind
{
    /// <summary>Mean squared difference of the logits (the input of a final Softmax, else the output itself).</summary>
    Mse,

    /// <summary>KL(p_float ‖ p_quantized) of the softmax of the logits at a temperature, times T² (Hinton et al. 2015).</summary>
    Kl,
}
