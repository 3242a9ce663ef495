using Google.Protobuf;
using SharpQuant.Onnx;
using SharpQuant.Tests.Support;
using Proto = global::Onnx;

namespace SharpQuant.Tests.Onnx;

/// <summary>
/// Issue 16, item 14: models ONNX Runtime refuses used to be written back with exit 0. They are refused on load, by
/// every command (inspect too, which never runs the model), with the node and the rule.
/// </summary>
public class ModelCheckerTests
{
    private static readonly string[][] AllCommands = [["inspect"], .. HostileModels.EditingCommands];

    public static TheoryData<string, string> Breakages() => new()
    {
        { "unknown-op", "unknown op 'Frobnicate' in node 'relu'" },
        { "unknown-domain", "node 'relu' uses op 'Relu' of the unknown domain 'com.example'" },
        { "conv-one-input", "node 'c2' (Conv): has 1 inputs; Conv requires 2" },
        { "conv-four-inputs", "node 'c2' (Conv): has 4 inputs; Conv takes at most 3" },
        { "bias-length-1", "node 'c2' (Conv): bias 'c2.b' has shape [1]; it must be [8], one value per output channel" },
        { "weight-rank-2", "node 'c2' (Conv): weight 'c2.w' has shape [8, 8]; a Conv weight has rank 3 or more" },
        { "weight-dim-0", "node 'c2' (Conv): weight 'c2.w' has shape [0, 8, 1, 1], with a zero dimension" },
        { "kernel-too-large", "node 'c1' (Conv): kernel [11, 11] (dilated extent 11) is larger than the padded input size 10" },
        { "kernel-shape-mismatch", "node 'c1' (Conv): attribute 'kernel_shape' [5, 5] does not match weight 'c1.w' [8, 4, 3, 3]" },
        { "strides-0", "node 'c1' (Conv): attribute 'strides' [0, 1] has 0; each value must be positive" },
        { "pads-length", "node 'c1' (Conv): attribute 'pads' has 2 values; this Conv needs 4" },
        { "bn-length", "node 'bn' (BatchNormalization): variance 'bn.var' has 7 values but the input has 8 channels" },
        { "bn-rank-2", "node 'bn' (BatchNormalization): scale 'bn.scale' has shape [8, 1]; BatchNormalization statistics have rank 1" },
        { "input-int8", "node 'c1' (Conv): input 0 'x' is int8; Conv takes float16, float32, float64 or bfloat16" },
        { "input-type-999", "graph input 'x' has element type 999, which ONNX does not define" },
        { "input-no-type", "graph input 'x' has no type" },
        { "ir-99", "the model has IR version 99; SharpQuant reads IR versions 1 to 11" },
        { "empty-graph", "the graph has no nodes" },
        { "no-outputs", "the graph has no outputs" },
        { "input-channels", "node 'c1' (Conv): input 'x' [1, 3, 8, 8] has 3 channels but weight 'c1.w' [8, 4, 3, 3] with group 1 reads 4" },
    };

    private static Proto.ModelProto Broken(string breakage)
    {
        var model = HostileModels.ConvPair();
        var c1 = model.NodeNamed("c1");
        var c2 = model.NodeNamed("c2");
        void Reshape(string tensor, params long[] dims)
        {
            var t = model.Initializer(tensor);
            var count = dims.Aggregate(1L, (a, b) => a * b);
            var data = t.FloatData.Take((int)count).ToArray();
            t.FloatData.Clear();
            t.FloatData.AddRange(data);
            t.Dims.Clear();
            t.Dims.AddRange(dims);
        }
        switch (breakage)
        {
            case "unknown-op":
                model.NodeNamed("relu").OpType = "Frobnicate";
                break;
            case "unknown-domain":
                model.NodeNamed("relu").Domain = "com.example";
                model.OpsetImport.Add(new Proto.OperatorSetIdProto { Domain = "com.example", Version = 1 });
                break;
            case "conv-one-input":
                c2.Input.RemoveAt(2);
                c2.Input.RemoveAt(1);
                break;
            case "conv-four-inputs":
                c2.Input.Add("c2.b");
                break;
            case "bias-length-1":
                Reshape("c2.b", 1);
                break;
            case "weight-rank-2":
                Reshape("c2.w", 8, 8);
                break;
            case "weight-dim-0":
                Reshape("c2.w", 0, 8, 1, 1);
                break;
            case "kernel-too-large":
                c1.Attribute.Remove(c1.Attribute.Single(a => a.Name == "kernel_shape"));
                Reshape("c1.w", 8, 4, 3, 3);
                model.Initializer("c1.w").Dims.Clear();
                model.Initializer("c1.w").Dims.AddRange([8, 4, 11, 11]);
                model.Initializer("c1.w").FloatData.AddRange(new float[8 * 4 * 121 - 8 * 4 * 9]);
                break;
            case "kernel-shape-mismatch":
                c1.SetAttribute(HostileModels.Ints("kernel_shape", 5, 5));
                break;
            case "strides-0":
                c1.SetAttribute(HostileModels.Ints("strides", 0, 1));
                break;
            case "pads-length":
                c1.SetAttribute(HostileModels.Ints("pads", 1, 1));
                break;
            case "bn-length":
                Reshape("bn.var", 7);
                break;
            case "bn-rank-2":
                Reshape("bn.scale", 8, 1);
                break;
            case "input-int8":
                model.Graph.Input[0].Type.TensorType.ElemType = (int)ElementType.Int8;
                break;
            case "input-type-999":
                model.Graph.Input[0].Type.TensorType.ElemType = 999;
                break;
            case "input-no-type":
                model.Graph.Input[0].Type = null;
                break;
            case "ir-99":
                model.IrVersion = 99;
                break;
            case "empty-graph":
                model.Graph.Node.Clear();
                break;
            case "no-outputs":
                model.Graph.Output.Clear();
                break;
            case "input-channels":
                model.Graph.Input[0] = ProtoModels.FloatValue("x", 1, 3, 8, 8);
                break;
        }
        return model;
    }

    [Theory]
    [MemberData(nameof(Breakages))]
    public void InvalidModelIsRefusedByEveryCommand(string breakage, string expected)
    {
        var model = Broken(breakage);
        foreach (var command in AllCommands)
        {
            if (command[0] == "inspect")
            {
                using var temp = TestData.NewTempFolder();
                var path = temp.File("m.onnx");
                File.WriteAllBytes(path, model.ToByteArray());
                var (code, _, error) = SharpQuant.Tests.Cli.InspectCommandTests.Run("inspect", path);
                Assert.Equal(2, code);
                Assert.StartsWith($"error: {expected}", Assert.Single(error.Trim().Split('\n')));
                continue;
            }
            HostileModels.AssertRefused(model, command, expected);
        }
    }

    [Fact]
    public void TheBrokenModelsAreOnesOnnxRuntimeRefuses()
    {
        // Each rule matches a refusal of ONNX Runtime itself (the valid model it runs).
        using (new Microsoft.ML.OnnxRuntime.InferenceSession(HostileModels.ConvPair().ToByteArray()))
        {
        }
        var accepted = new List<string>();
        foreach (var breakage in Breakages().Select(row => (string)row[0]))
        {
            try
            {
                using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(Broken(breakage).ToByteArray());
                // Some refusals come only when the model runs.
                using var x = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(new float[4 * 8 * 8], [1, 4, 8, 8]);
                using var run = new Microsoft.ML.OnnxRuntime.RunOptions();
                using var outputs = session.Run(run, ["x"], [x], ["y"]);
                accepted.Add(breakage);
            }
            catch (Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
            {
            }
        }
        Assert.Empty(accepted);
    }

    [Fact]
    public void ModelLocalFunctionsAndRuntimeDomainsAreAccepted()
    {
        var model = HostileModels.ConvPair();
        var relu = model.NodeNamed("relu");
        relu.OpType = "MyRelu";
        relu.Domain = "local.fn";
        model.OpsetImport.Add(new Proto.OperatorSetIdProto { Domain = "local.fn", Version = 1 });
        var function = new Proto.FunctionProto { Name = "MyRelu", Domain = "local.fn" };
        function.Input.Add("a");
        function.Output.Add("b");
        function.Node.Add(ProtoModels.Node("Relu", "inner", ["a"], ["b"]));
        function.OpsetImport.Add(new Proto.OperatorSetIdProto { Domain = "", Version = 13 });
        model.Functions.Add(function);
        var graph = OnnxModel.Load(model.Bytes());
        Assert.Equal("MyRelu", graph.FindNode("relu")!.OpType);
    }

    [Fact]
    public void UnimportedDomainIsRefused()
    {
        var model = HostileModels.ConvPair();
        model.NodeNamed("relu").Domain = "ai.onnx.ml";
        var e = Assert.Throws<InvalidModelException>(() => OnnxModel.Load(model.Bytes()));
        Assert.Equal("node 'relu' uses domain 'ai.onnx.ml', which the model does not import (no opset for it)", e.Message);
    }
}
