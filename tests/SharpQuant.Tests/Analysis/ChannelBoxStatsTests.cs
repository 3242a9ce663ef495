using SharpQuant.Analysis;
using SharpQuant.Quantization;
using SharpQuant.Tests.Support;

namespace SharpQuant.Tests.Analysis;

public class ChannelBoxStatsTests
{
    [Fact]
    public void QuartilesInterpolateLinearlyAsNumpyDoes()
    {
        // np.percentile([1, 2, 3, 4], [25, 50, 75]) = [1.75, 2.5, 3.25]
        float[] sorted = [1, 2, 3, 4];
        Assert.Equal(1.75, ChannelBoxStats.Quantile(sorted, 0.25), 12);
        Assert.Equal(2.5, ChannelBoxStats.Quantile(sorted, 0.5), 12);
        Assert.Equal(3.25, ChannelBoxStats.Quantile(sorted, 0.75), 12);
        Assert.Equal(1, ChannelBoxStats.Quantile(sorted, 0), 12);
        Assert.Equal(4, ChannelBoxStats.Quantile(sorted, 1), 12);
    }

    [Fact]
    public void WhiskersStopAtTheLastPointWithinOneAndAHalfIqr()
    {
        // Channel 0: [1, 2, 3, 4, 100] → Q1 2, median 3, Q3 4, IQR 2, fences [−1, 7]: whiskers 1 and 4, 100 an outlier.
        // Channel 1: [5, 4, 3, 2, 1] → the same box, whiskers at the data ends.
        var weight = Tensor.FromFloats([1, 2, 3, 4, 100, 5, 4, 3, 2, 1], 2, 5, 1, 1);
        var boxes = ChannelBoxStats.Of(weight, 0);
        Assert.Equal(new ChannelBox(0, 5, 1, 1, 2, 3, 4, 4, 100), boxes[0]);
        Assert.True(boxes[0].HasOutliers);
        Assert.Equal(new ChannelBox(1, 5, 1, 1, 2, 3, 4, 5, 5), boxes[1]);
        Assert.False(boxes[1].HasOutliers);
        Assert.Equal(2, boxes[0].Iqr);
    }

    [Fact]
    public void LowOutliersAndInterpolatedFences()
    {
        // [-50, 0, 1, 2, 3, 4]: Q1 at h = 1.25 → 0.25, median 1.5, Q3 at h = 3.75 → 2.75, IQR 2.5, fences [−3.5, 6.5].
        var box = ChannelBoxStats.OfValues(0, new float[] { 4, 3, -50, 2, 1, 0 });
        Assert.Equal(new ChannelBox(0, 6, -50, 0, 0.25, 1.5, 2.75, 4, 4), box);
    }

    [Fact]
    public void ChannelsAlongAxisOneAreGatheredAcrossRows()
    {
        // A MatMul weight [in 3, out 2]: output channel c is column c.
        var weight = Tensor.FromFloats([1, 10, 2, 20, 3, 30], 3, 2);
        var boxes = ChannelBoxStats.Of(weight, 1);
        Assert.Equal(2, boxes.Count);
        Assert.Equal((1.0, 2.0, 3.0), (boxes[0].Min, boxes[0].Median, boxes[0].Max));
        Assert.Equal((10.0, 20.0, 30.0), (boxes[1].Min, boxes[1].Median, boxes[1].Max));
        Assert.Equal(15, boxes[1].Q1, 12);
    }

    [Fact]
    public void ResNet18ConvHasOneBoxPerOutputChannelWithTheTrueExtremes()
    {
        var graph = TestModels.ResNet18();
        var conv = graph.FindNode("stage2.block0.conv1")!;
        var weight = conv.Input(1).ConstantValue!;
        var boxes = ChannelBoxStats.Of(weight, QuantSim.WeightChannelAxis(conv));
        Assert.Equal(128, boxes.Count);
        var perChannel = (int)(weight.ElementCount / 128);
        for (var c = 0; c < 128; c++)
        {
            var values = weight.Floats.Slice(c * perChannel, perChannel).ToArray();
            Assert.Equal(values.Min(), boxes[c].Min);
            Assert.Equal(values.Max(), boxes[c].Max);
            Assert.Equal(perChannel, boxes[c].Count);
            Assert.True(boxes[c].Min <= boxes[c].WhiskerLow && boxes[c].WhiskerLow <= boxes[c].Q1 && boxes[c].Q1 <= boxes[c].Median
                && boxes[c].Median <= boxes[c].Q3 && boxes[c].Q3 <= boxes[c].WhiskerHigh && boxes[c].WhiskerHigh <= boxes[c].Max);
        }
    }

    [Fact]
    public void NonFloatWeightsAndBadAxesAreErrors()
    {
        Assert.Throws<SharpQuantException>(() => ChannelBoxStats.Of(Tensor.FromFloats([1, 2], 2), 1));
        Assert.Throws<SharpQuantException>(() => ChannelBoxStats.Of(Tensor.Create(new long[] { 1, 2 }, 2), 0));
    }
}
