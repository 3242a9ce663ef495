namespace SharpQuant.Training;

/// <summary>What a learned tensor is to its quantizer.</summary>
public enum ParameterRole
{
    Scale,
    ZeroPoint,
    Weight,
}
