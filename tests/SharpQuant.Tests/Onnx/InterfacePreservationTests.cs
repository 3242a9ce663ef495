using Microsoft.ML.OnnxRuntime;
using SharpQuant.Onnx;
using SharpQuant.Runtime;
using SharpQuant.Tests.Support;
using Proto = global::Onnx;

namespace SharpQuant.Tests.Onnx;

/// <summary>
/// A load → save round trip keeps the model's interface exactly: inputs with initializer defaults, outputs listed
/// twice, sequence- and optional-typed values; what it cannot keep (a domain imported twice) is refused; and making
/// the batch dynamic touches batch axes only.
/// </summary>
public class InterfacePreservationTests
{
    private static readonly float[] X = [0.5f, 1f, -1f, 6f];

    private static InferenceSession Session(byte[] model) =>
        new(model, new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR });

    private static float[] RunAddRelu(InferenceSession session, float[]? c)
    {
        var names = new List<string> { "x" };
        var values = new List<OrtValue> { OrtValue.CreateTensorValueFromMemory((float[])X.Clone(), [1, 4]) };
        if (c is not null)
        {
            names.Add("c");
            values.Add(OrtValue.CreateTensorValueFromMemory(c, [4]));
        }
        using var outputs = session.Run(new RunOptions(), names, values, ["y"]);
        foreach (var v in values)
        {
            v.Dispose();
        }
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>y = Relu(x + c) where c is an input whose initializer is its default.</summary>
    private static Proto.ModelProto AddReluWithDefault(long irVersion)
    {
        var model = ProtoModels.AddRelu();
        model.IrVersion = irVersion;
        model.Graph.Input.Add(ProtoModels.FloatValue("c", 4));
        return model;
    }

    [Fact]
    public void AnInputWithAnInitializerDefaultStaysAnInputThatCanBeFed()
    {
        var original = AddReluWithDefault(irVersion: 8).Bytes();
        var graph = OnnxModel.Load(original);
        Assert.Equal(["x", "c"], graph.Inputs.Select(i => i.Name));
        var c = graph.GetValue("c");
        Assert.False(c.IsConstant);
        Assert.Equal([1f, -2f, 3f, -4f], c.DefaultValue!.ToArray<float>());

        var exported = OnnxModel.ToBytes(graph);
        var proto = Proto.ModelProto.Parser.ParseFrom(exported);
        Assert.Equal(["x", "c"], proto.Graph.Input.Select(i => i.Name));
        Assert.Equal(["c"], proto.Graph.Initializer.Select(i => i.Name));

        using var session = Session(exported);
        Assert.Equal(["x"], session.InputNames);
        Assert.Equal(["c"], session.OverridableInitializerMetadata.Keys);
        // Not fed: the default (x + [1, -2, 3, -4]); fed: the given value.
        Assert.Equal([1.5f, 0f, 2f, 2f], RunAddRelu(session, c: null));
        Assert.Equal([0.5f, 1f, 0f, 6f], RunAddRelu(session, c: [0f, 0f, 0f, 0f]));
        using var originalSession = Session(original);
        Assert.Equal(RunAddRelu(originalSession, c: [1f, 1f, 1f, 1f]), RunAddRelu(session, c: [1f, 1f, 1f, 1f]));

        // The library's executor uses the default too where the input is not given.
        using var executor = new GraphExecutor(graph);
        var fed = new Dictionary<string, Tensor> { ["x"] = Tensor.FromFloats((float[])X.Clone(), 1, 4) };
        Assert.Equal([1.5f, 0f, 2f, 2f], executor.Run(fed).Output.ToArray<float>());
        Assert.Equal([1f, -2f, 3f, -4f], executor.Run(fed, ["c"]).Values["c"].ToArray<float>());
        Assert.Equal([1f, -2f, 3f, -4f], graph.Clone().GetValue("c").DefaultValue!.ToArray<float>());
    }

    [Fact]
    public void CommandsThatEditLayersTakeWeightDefaultsAsConstantsAndKeepOtherDefaultsAsInputs()
    {
        // z = Conv(x, w, b) + k, with w, b and k inputs that have initializer defaults (keep_initializers_as_inputs style).
        var model = ProtoModels.Model(13,
            ProtoModels.Node("Conv", "conv", ["x", "w", "b"], ["y"]),
            ProtoModels.Node("Add", "add", ["y", "k"], ["z"]));
        model.Graph.Input.Add(ProtoModels.FloatValue("x", 1, 1, 2, 2));
        model.Graph.Input.Add(ProtoModels.FloatValue("w", 2, 1, 1, 1));
        model.Graph.Input.Add(ProtoModels.FloatValue("b", 2));
        model.Graph.Input.Add(ProtoModels.FloatValue("k", 1));
        model.Graph.Initializer.Add(ProtoModels.FloatTensor("w", [2f, -1f], 2, 1, 1, 1));
        model.Graph.Initializer.Add(ProtoModels.FloatTensor("b", [0.5f, 0.25f], 2));
        model.Graph.Initializer.Add(ProtoModels.FloatTensor("k", [10f], 1));
        model.Graph.Output.Add(ProtoModels.FloatValue("z", 1, 2, 2, 2));

        var graph = OnnxModel.Load(model.Bytes());
        Assert.Equal(["x", "w", "b", "k"], graph.Inputs.Select(i => i.Name));
        Assert.Equal(["w", "b"], graph.FreezeParameterDefaults().Select(v => v.Name));
        Assert.Equal(["x", "k"], graph.Inputs.Select(i => i.Name));
        Assert.Equal([2f, -1f], graph.GetValue("w").ConstantValue!.ToArray<float>());
        Assert.Null(graph.GetValue("w").DefaultValue);

        // fold (as every command that edits or quantizes layers) writes the weights as constants, and k as an input.
        using var temp = TestData.NewTempFolder();
        File.WriteAllBytes(temp.File("m.onnx"), model.Bytes());
        var (code, _, error) = Cli.InspectCommandTests.Run("fold", temp.File("m.onnx"), "-o", temp.File("folded.onnx"));
        Assert.True(code == 0, error);
        var folded = Proto.ModelProto.Parser.ParseFrom(File.ReadAllBytes(temp.File("folded.onnx")));
        Assert.Equal(["x", "k"], folded.Graph.Input.Select(i => i.Name));
        Assert.Equal(["b", "k", "w"], folded.Graph.Initializer.Select(i => i.Name).Order(StringComparer.Ordinal));
        using var session = Session(File.ReadAllBytes(temp.File("folded.onnx")));
        Assert.Equal(["k"], session.OverridableInitializerMetadata.Keys);
        using var x = OrtValue.CreateTensorValueFromMemory(new[] { 1f, 2f, 3f, 4f }, [1, 1, 2, 2]);
        using var outputs = session.Run(new RunOptions(), ["x"], [x], ["z"]);
        Assert.Equal([12.5f, 14.5f, 16.5f, 18.5f, 9.25f, 8.25f, 7.25f, 6.25f], outputs[0].GetTensorDataAsSpan<float>().ToArray());
    }

    [Fact]
    public void BeforeIrVersion4AnInitializerListedAsInputIsAConstant()
    {
        // IR versions 1 to 3 list every initializer as an input: the listing says nothing about feeding it.
        var graph = OnnxModel.Load(AddReluWithDefault(irVersion: 3).Bytes());
        Assert.Equal(["x"], graph.Inputs.Select(i => i.Name));
        Assert.True(graph.GetValue("c").IsConstant);
        var proto = Proto.ModelProto.Parser.ParseFrom(OnnxModel.ToBytes(graph));
        Assert.Equal(["x", "c"], proto.Graph.Input.Select(i => i.Name));
    }

    [Fact]
    public void AGraphOutputListedTwiceStaysListedTwice()
    {
        var model = ProtoModels.AddRelu();
        model.Graph.Output.Add(ProtoModels.FloatValue("y", 1, 4));
        var graph = OnnxModel.Load(model.Bytes());
        Assert.Equal(2, graph.Outputs.Count);
        var exported = OnnxModel.ToBytes(graph);
        Assert.Equal(["y", "y"], Proto.ModelProto.Parser.ParseFrom(exported).Graph.Output.Select(o => o.Name));
        using var original = Session(model.Bytes());
        using var roundTrip = Session(exported);
        Assert.Equal(original.OutputNames, roundTrip.OutputNames);
        Assert.Equal(2, roundTrip.OutputNames.Count);
        Assert.Equal(RunAddRelu(original, null), RunAddRelu(roundTrip, null));
        // The library's executor runs it too, with a tap on the output.
        using var executor = new GraphExecutor(graph);
        var result = executor.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.FromFloats((float[])X.Clone(), 1, 4) }, ["y"]);
        Assert.Equal([1.5f, 0f, 2f, 2f], result.Output.ToArray<float>());
        // A tap on an output adds no third listing.
        var tapped = OnnxExporter.ToModelProto(graph, [graph.GetValue("y"), graph.GetValue("s")]);
        Assert.Equal(["y", "y", "s"], tapped.Graph.Output.Select(o => o.Name));
    }

    [Theory]
    [InlineData("", 13, "", 11, "the model imports the default ONNX domain twice (opsets 13 and 11); a model imports each domain once")]
    [InlineData("", 13, "ai.onnx", 13, "the model imports the default ONNX domain twice (opsets 13 and 13); a model imports each domain once")]
    [InlineData("com.microsoft", 1, "com.microsoft", 2, "the model imports domain 'com.microsoft' twice (opsets 1 and 2); a model imports each domain once")]
    public void ADomainImportedTwiceIsRefused(string firstDomain, long first, string secondDomain, long second, string message)
    {
        var model = ProtoModels.AddRelu();
        model.OpsetImport.Clear();
        model.OpsetImport.Add(new Proto.OperatorSetIdProto { Domain = firstDomain, Version = first });
        model.OpsetImport.Add(new Proto.OperatorSetIdProto { Domain = secondDomain, Version = second });
        if (firstDomain.Length > 0)
        {
            model.OpsetImport.Add(new Proto.OperatorSetIdProto { Domain = "", Version = 13 });
        }
        var e = Assert.Throws<InvalidModelException>(() => OnnxModel.Load(model.Bytes()));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void MakingTheBatchDynamicTouchesBatchAxesOnly()
    {
        // image [1, 3, 2, 2] → Relu → y [1, 3, 2, 2]; param [8] → Identity → p [8]; scale [1, 3] with a default → s [1, 3].
        var model = ProtoModels.Model(13,
            ProtoModels.Node("Relu", "relu", ["image"], ["y"]),
            ProtoModels.Node("Identity", "id", ["param"], ["p"]),
            ProtoModels.Node("Identity", "id2", ["scale"], ["s"]));
        model.Graph.Input.Add(ProtoModels.FloatValue("image", 1, 3, 2, 2));
        model.Graph.Input.Add(ProtoModels.FloatValue("param", 8));
        model.Graph.Input.Add(ProtoModels.FloatValue("scale", 1, 3));
        model.Graph.Initializer.Add(ProtoModels.FloatTensor("scale", [1f, 2f, 3f], 1, 3));
        model.Graph.Output.Add(ProtoModels.FloatValue("y", 1, 3, 2, 2));
        model.Graph.Output.Add(ProtoModels.FloatValue("p", 8));
        model.Graph.Output.Add(ProtoModels.FloatValue("s", 1, 3));
        using var temp = TestData.NewTempFolder();
        var path = temp.File("m.onnx");
        File.WriteAllBytes(path, model.Bytes());

        // The CLI's loader for commands that calibrate or evaluate in batches (quantize among them).
        var graph = SharpQuant.Cli.ModelArgument.LoadBatchable(path);
        Assert.Equal("[N, 3, 2, 2]", Shapes.Format(graph.GetValue("image").Shape));
        Assert.Equal("[N, 3, 2, 2]", Shapes.Format(graph.GetValue("y").Shape));
        Assert.Equal("[8]", Shapes.Format(graph.GetValue("param").Shape));
        Assert.Equal("[8]", Shapes.Format(graph.GetValue("p").Shape));
        Assert.Equal("[1, 3]", Shapes.Format(graph.GetValue("scale").Shape));

        // The exported model still takes exactly 8 parameters, and any batch of images.
        using var session = Session(OnnxModel.ToBytes(graph));
        Assert.Equal([8], session.InputMetadata["param"].Dimensions);
        Assert.Equal([-1, 3, 2, 2], session.InputMetadata["image"].Dimensions);
        Assert.Equal([1, 3], session.OverridableInitializerMetadata["scale"].Dimensions);
    }

    [Fact]
    public void SequenceAndOptionalTypedInputsAndOutputsKeepTheirTypes()
    {
        // s: seq(float[2]), x: optional(float[3]) → a = SequenceAt(s, 0), h = OptionalHasElement(x),
        // o = Optional(a): optional(float[2]), s2 = SequenceInsert(s, a): seq(float[2]).
        var model = ProtoModels.Model(18,
            ProtoModels.Node("SequenceAt", "at", ["s", "zero"], ["a"]),
            ProtoModels.Node("OptionalHasElement", "has", ["x"], ["h"]),
            ProtoModels.Node("Optional", "wrap", ["a"], ["o"]),
            ProtoModels.Node("SequenceInsert", "insert", ["s", "a"], ["s2"]));
        model.Graph.Initializer.Add(new Proto.TensorProto { Name = "zero", DataType = (int)ElementType.Int64, Int64Data = { 0 } });
        model.Graph.Input.Add(Typed("s", Sequence(FloatTensor(2))));
        model.Graph.Input.Add(Typed("x", Optional(FloatTensor(3))));
        model.Graph.Output.Add(Typed("o", Optional(FloatTensor(2))));
        model.Graph.Output.Add(Typed("s2", Sequence(FloatTensor(2))));
        model.Graph.Output.Add(Typed("h", new Proto.TypeProto { TensorType = new Proto.TypeProto.Types.Tensor { ElemType = (int)ElementType.Bool, Shape = new Proto.TensorShapeProto() } }));

        var graph = OnnxModel.Load(model.Bytes());
        Assert.NotNull(graph.GetValue("s").NonTensorType);
        var exported = OnnxModel.ToBytes(graph);
        var back = Proto.ModelProto.Parser.ParseFrom(exported).Graph;
        Assert.Equal(model.Graph.Input.Select(i => i.Type), back.Input.Select(i => i.Type));
        Assert.Equal(model.Graph.Output.Select(o => o.Type), back.Output.Select(o => o.Type));
        Assert.NotNull(graph.Clone().GetValue("o").NonTensorType);

        // Summaries (inspect) show the whole type.
        var summary = GraphSummary.Of(graph);
        Assert.Equal(["seq(float32[2])", "optional(float32[3])"], summary.Inputs.Select(i => i.ElementType));
        Assert.Equal(["optional(float32[2])", "seq(float32[2])", "bool"], summary.Outputs.Select(o => o.ElementType));
        using var temp = TestData.NewTempFolder();
        File.WriteAllBytes(temp.File("seq.onnx"), model.Bytes());
        var (code, text, error) = Cli.InspectCommandTests.Run("inspect", temp.File("seq.onnx"));
        Assert.True(code == 0, error);
        Assert.Matches(@"input +│ s +│ seq\(float32\[2\]\)", text);
        Assert.Matches(@"model kind +an optional\(float32\[2\]\) output, not class scores", text);

        // ONNX Runtime accepts both and computes the same from a sequence of two tensors and a present optional.
        var sequence = new SequenceData([new TensorData(ElementType.Float, [2], Floats(1f, 2f)), new TensorData(ElementType.Float, [2], Floats(3f, 4f))]);
        var optional = new TensorData(ElementType.Float, [3], Floats(5f, 6f, 7f));
        var expected = RunSequenceModel(model.Bytes(), sequence, optional);
        var actual = RunSequenceModel(exported, sequence, optional);
        Assert.Equal(3, expected.Count);
        foreach (var (name, value) in expected)
        {
            Assert.Null(OrtData.Difference(value, actual[name], Tolerance.Exact));
        }
        var inserted = Assert.IsType<SequenceData>(actual["s2"]);
        Assert.Equal(3, inserted.Items.Count);
        Assert.Equal(Floats(1f, 2f), ((TensorData)inserted.Items[2]).Bytes);
    }

    private static Dictionary<string, DataValue> RunSequenceModel(byte[] model, DataValue sequence, DataValue optional)
    {
        using var session = Session(model);
        using var s = OrtData.ToOrtValue(sequence)!;
        using var x = OrtData.ToOrtValue(optional)!;
        string[] outputs = ["o", "s2", "h"];
        using var results = session.Run(new RunOptions(), ["s", "x"], [s, x], outputs);
        return outputs.Select((name, i) => (name, value: OrtData.FromOrtValue(results[i]))).ToDictionary(p => p.name, p => p.value);
    }

    private static byte[] Floats(params float[] values) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    private static Proto.ValueInfoProto Typed(string name, Proto.TypeProto type) => new() { Name = name, Type = type };

    private static Proto.TypeProto FloatTensor(long size)
    {
        var shape = new Proto.TensorShapeProto();
        shape.Dim.Add(new Proto.TensorShapeProto.Types.Dimension { DimValue = size });
        return new Proto.TypeProto { TensorType = new Proto.TypeProto.Types.Tensor { ElemType = (int)ElementType.Float, Shape = shape } };
    }

    private static Proto.TypeProto Sequence(Proto.TypeProto element) =>
        new() { SequenceType = new Proto.TypeProto.Types.Sequence { ElemType = element } };

    private static Proto.TypeProto Optional(Proto.TypeProto element) =>
        new() { OptionalType = new Proto.TypeProto.Types.Optional { ElemType = element } };
}
