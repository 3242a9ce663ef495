namespace SharpQuant.Data;

/// <summary>One sample made from an image file: crop <paramref name="Crop"/> of a <see cref="CropPlan"/>, mirrored or not.</summary>
public sealed record ImageVariant(string File, int Crop, bool Flipped)
{
    /// <summary>A readable name such as <c>samoyed.jpg [top-left, mirrored]</c>.</summary>
    public string Name => $"{Path.GetFileName(File)} [{CropPlan.PositionNames[Crop]}{(Flipped ? ", mirrored" : "")}]";
}
