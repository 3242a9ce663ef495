namespace SharpQuant.Training;

/// <summary>
/// The samples of a small training set (inputs and the float model's logits for them, one row each) served as
/// mini-batches in an order shuffled from a seed: each epoch is a fresh permutation (Fisher–Yates with
/// <see cref="Random"/>(seed), which is deterministic for a seed), cut into batches; the last, smaller batch of an
/// epoch is kept so every sample is seen once per epoch.
/// </summary>
public sealed class TrainingSamples
{
    private readonly List<float[]> _inputs = [];
    private readonly List<float[]> _targets = [];
    private readonly Random _random;
    private int[] _order = [];
    private int _position;
    private long[]? _inputShape;
    private long[]? _targetShape;

    public TrainingSamples(int seed)
    {
        _random = new Random(seed);
    }

    public int Count => _inputs.Count;

    public int Epoch { get; private set; }

    /// <summary>Adds the rows of a batch: its inputs [N, ...] and the float model's logits for them [N, ...].</summary>
    public void Add(Tensor inputs, Tensor targets)
    {
        var n = inputs.Shape[0];
        if (targets.Shape[0] != n)
        {
            throw new SharpQuantException($"a batch of {n} inputs came with {targets.Shape[0]} targets");
        }
        var inputRow = inputs.Shape.Skip(1).ToArray();
        var targetRow = targets.Shape.Skip(1).ToArray();
        if (_inputShape is not null && (!_inputShape.SequenceEqual(inputRow) || !_targetShape!.SequenceEqual(targetRow)))
        {
            throw new SharpQuantException(
                $"training samples must share one shape: {Shapes.Format(inputRow)} after {Shapes.Format(_inputShape)}");
        }
        _inputShape = inputRow;
        _targetShape = targetRow;
        Split(inputs, n, _inputs);
        Split(targets, n, _targets);
    }

    private static void Split(Tensor tensor, long rows, List<float[]> into)
    {
        var data = tensor.Floats;
        var size = (int)(tensor.ElementCount / Math.Max(rows, 1));
        for (var i = 0; i < rows; i++)
        {
            into.Add(data.Slice(i * size, size).ToArray());
        }
    }

    /// <summary>The shape of a batch of <paramref name="batchSize"/> inputs.</summary>
    public long[] InputShape(int batchSize) =>
        _inputShape is null ? throw new SharpQuantException("fine-tuning needs at least one training sample") : [batchSize, .. _inputShape];

    /// <summary>The shape of the targets of <paramref name="batchSize"/> samples.</summary>
    public long[] TargetShape(int batchSize) =>
        _targetShape is null ? throw new SharpQuantException("fine-tuning needs at least one training sample") : [batchSize, .. _targetShape];

    /// <summary>The next mini-batch of at most <paramref name="batchSize"/> samples, starting a new epoch when one ends.</summary>
    public (Tensor Inputs, Tensor Targets, int[] Indices) Next(int batchSize)
    {
        if (Count == 0)
        {
            throw new SharpQuantException("fine-tuning needs at least one training sample");
        }
        if (batchSize < 1)
        {
            throw new SharpQuantException($"the batch size must be at least 1; got {batchSize}");
        }
        if (_position >= _order.Length)
        {
            _order = Enumerable.Range(0, Count).ToArray();
            _random.Shuffle(_order);
            _position = 0;
            Epoch++;
        }
        var indices = _order.AsSpan(_position, Math.Min(batchSize, _order.Length - _position)).ToArray();
        _position += indices.Length;
        return (Stack(_inputs, indices, _inputShape!), Stack(_targets, indices, _targetShape!), indices);
    }

    /// <summary>All samples in their original order, in batches of <paramref name="batchSize"/> (for measuring the loss).</summary>
    public IEnumerable<(Tensor Inputs, Tensor Targets)> InOrder(int batchSize)
    {
        for (var start = 0; start < Count; start += batchSize)
        {
            var indices = Enumerable.Range(start, Math.Min(batchSize, Count - start)).ToArray();
            yield return (Stack(_inputs, indices, _inputShape!), Stack(_targets, indices, _targetShape!));
        }
    }

    private static Tensor Stack(List<float[]> rows, int[] indices, long[] rowShape)
    {
        var size = rows[indices[0]].Length;
        var data = new float[indices.Length * size];
        for (var i = 0; i < indices.Length; i++)
        {
            rows[indices[i]].CopyTo(data, i * size);
        }
        return Tensor.FromFloats(data, [indices.Length, .. rowShape]);
    }
}
