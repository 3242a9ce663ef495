namespace SharpQuant.Cli.Help;

/// <summary>
/// The examples each command's <c>--help</c> ends with, keyed by the command's path below the root. They live in
/// one place so a test can run every one of them through the parser, and an example cannot name an option that was
/// renamed.
/// </summary>
public static class CommandExamples
{
    public static readonly IReadOnlyDictionary<string, string[]> ByCommand = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        [""] =
        [
            "sharpquant inspect",
            "sharpquant quantize --images photos -o resnet18-int8.onnx",
            "sharpquant demo --images photos -o demo",
        ],
        ["inspect"] =
        [
            "sharpquant inspect",
            "sharpquant inspect model.onnx --tabular",
            "sharpquant inspect model.onnx --json",
        ],
        ["fold"] =
        [
            "sharpquant fold -o resnet18-folded.onnx",
            "sharpquant fold model.onnx -o folded.onnx --json",
        ],
        ["equalize"] =
        [
            "sharpquant equalize -o resnet18-cle.onnx",
            "sharpquant equalize mobilenetv2.onnx -o cle.onnx --relu6 skip",
            "sharpquant equalize model.onnx -o cle.onnx --absorb-bias --json",
        ],
        ["quantize"] =
        [
            "sharpquant quantize --images photos -o resnet18-int8.onnx",
            "sharpquant quantize model.onnx --data-free -o model-int8.onnx",
            "sharpquant quantize --images photos --split calibration --equalize -o cle-int8.onnx",
        ],
        ["finetune"] =
        [
            "sharpquant finetune ppocr-cls.onnx --text-orientation 256 --wbits 4 -o ppocr-w4.onnx",
            "sharpquant finetune model.onnx --images photos --learn scales,weights -o tuned.onnx",
        ],
        ["evaluate"] =
        [
            "sharpquant evaluate resnet18.onnx resnet18-int8.onnx --images photos",
            "sharpquant evaluate float.onnx int8.onnx --images photos --split evaluation --json",
            "sharpquant evaluate ppocr-cls.onnx ppocr-int8.onnx --text-orientation 400",
        ],
        ["sensitivity"] =
        [
            "sharpquant sensitivity --images photos",
            "sharpquant sensitivity --images photos --layer 'stage4.*' --modes weights",
            "sharpquant sensitivity ppocr-cls.onnx --text-orientation 200 --max-accuracy-drop 1 -o table.json",
        ],
        ["plot"] =
        [
            "sharpquant plot boxplots --layer stage2.block0.conv1",
            "sharpquant plot histograms --images photos -o plots",
        ],
        ["plot boxplots"] =
        [
            "sharpquant plot boxplots",
            "sharpquant plot boxplots --layer 'stage2.*' --compare resnet18-cle.onnx -o plots",
        ],
        ["plot histograms"] =
        [
            "sharpquant plot histograms --layer stage2.block0.conv1",
            "sharpquant plot histograms --images photos --count 32 -o plots",
        ],
        ["plot sensitivity"] =
        [
            "sharpquant plot sensitivity --images photos",
            "sharpquant plot sensitivity --images photos --layer stage2.block0.conv1 --gradient-of sum -o plots",
        ],
        ["report"] =
        [
            "sharpquant report -o report.html",
            "sharpquant report --images photos --equalize -o report.html",
            "sharpquant report ppocr-cls.onnx --text-orientation 200 --layer conv1 -o ppocr.html",
        ],
        ["demo"] =
        [
            "sharpquant demo",
            "sharpquant demo --images photos -o demo",
        ],
    };
}
