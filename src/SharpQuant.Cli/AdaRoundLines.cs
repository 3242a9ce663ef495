using System.Globalization;
using SharpQuant.Quantization.AdaRound;
using Spectre.Console;

namespace SharpQuant.Cli;

/// <summary>One line per layer as AdaRound finishes it: reconstruction loss with nearest rounding and learned, flips, time.</summary>
internal sealed class AdaRoundLines(IAnsiConsole console) : IProgress<AdaRoundProgress>
{
    public void Report(AdaRoundProgress p)
    {
        var l = p.Result;
        var line = string.Create(CultureInfo.InvariantCulture,
            $"AdaRound {p.Layer}/{p.Layers} {l.Layer}: loss {l.NearestLoss:G4} → {l.AdaRoundLoss:G4}, {l.Flipped} of {l.Weights} weights flipped{(l.KeptNearest ? " (kept nearest)" : "")}, {l.Elapsed.TotalSeconds:F1} s");
        console.MarkupLine(Markup.Escape(line));
    }
}
