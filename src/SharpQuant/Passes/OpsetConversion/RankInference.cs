namespace SharpQuant.Passes.OpsetConversion;

/// <summary>
/// The rank of a value whose shape the file does not record, followed back through ops that keep or fix the rank;
/// null when it cannot be told without running shape inference.
/// </summary>
internal static class RankInference
{
    public static int? RankOf(Value value) => value.Shape?.Count ?? FromProducer(value);

    private static int? FromProducer(Value value)
    {
        var producer = value.Producer;
        return producer?.OpType switch
        {
            "Gemm" or "Flatten" => 2,
            "MatMul" when producer.ConstantInput(1) is { Rank: 2 } => RankOf(producer.Input(0)),
            "Add" or "Sub" or "Mul" or "Div" => BroadcastRank(producer),
            "Relu" or "Sigmoid" or "Tanh" or "Identity" or "Clip" or "LeakyRelu" or "Elu" or "HardSigmoid" or "Dropout"
                or "BatchNormalization" or "Softmax" or "LogSoftmax" or "Neg" or "Exp" or "Abs" => RankOf(producer.Input(0)),
            "Reshape" when producer.ConstantInput(1) is { } shape => (int)shape.ElementCount,
            _ => null,
        };
    }

    private static int? BroadcastRank(Node node)
    {
        var ranks = node.Inputs.Select(i => i is null ? (int?)0 : RankOf(i)).ToList();
        return ranks.Any(r => r is null) ? null : ranks.Max();
    }
}
