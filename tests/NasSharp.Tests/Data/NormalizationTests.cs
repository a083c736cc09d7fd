using NasSharp.Data;
using Xunit;

namespace NasSharp.Tests.Data;

public sealed class NormalizationTests
{
    /// <summary>Images [3, 4, 4] whose channels have very different planted offsets and spreads.</summary>
    private static LabeledDataset Images(int count, int seed)
    {
        var rng = new Random(seed);
        double[] offset = [0.5, -3, 100], spread = [0.1, 2, 30];
        var features = new float[count * 48];
        for (int i = 0; i < features.Length; i++)
        {
            int c = i % 48 / 16;
            features[i] = (float)(offset[c] + spread[c] * (rng.NextDouble() * 2 - 1));
        }
        return new LabeledDataset($"img{seed}", features, new int[count], [3, 4, 4], ["x"]);
    }

    private static (double Mean, double Std) ChannelMoments(LabeledDataset d, int channel)
    {
        var values = Enumerable.Range(0, d.Count).SelectMany(i => d.Features.Skip(i * 48 + channel * 16).Take(16)).Select(v => (double)v).ToArray();
        double mean = values.Average();
        return (mean, Math.Sqrt(values.Average(v => (v - mean) * (v - mean))));
    }

    [Fact]
    public void TrainIsStandardisedPerChannelAndOtherSplitsUseTrainStatistics()
    {
        var splits = new DataSplits(Images(200, 1), Images(50, 2), Images(50, 3));

        var (normalised, stats) = Normalization.Standardize(splits);

        Assert.Equal(3, stats.Channels);
        for (int c = 0; c < 3; c++)
        {
            var (rawMean, rawStd) = ChannelMoments(splits.Train, c);
            // Fitted statistics equal the direct two-pass computation (float inputs, double sums).
            Assert.Equal(rawMean, stats.Mean[c], 1e-9);
            Assert.Equal(rawStd, stats.Std[c], 1e-9);
            var (mean, std) = ChannelMoments(normalised.Train, c);
            // Results are stored as float32: 1e-5 leaves ample room for its ~6e-8 relative rounding.
            Assert.Equal(0, mean, 1e-5);
            Assert.Equal(1, std, 1e-5);
        }
        // Validation is transformed with the train statistics, not its own.
        int k = 1 * 48 + 2 * 16 + 5; // sample 1, channel 2, pixel 5
        Assert.Equal((float)((splits.Validation.Features[k] - stats.Mean[2]) / stats.Std[2]), normalised.Validation.Features[k], 1e-5f);
        Assert.NotSame(splits.Train.Features, normalised.Train.Features);
    }

    [Fact]
    public void FlatFeaturesAreStandardisedPerFeatureAndConstantsAreOnlyCentred()
    {
        var data = new LabeledDataset("tab", [1, 10, 5, 3, 30, 5, 5, 20, 5], [0, 0, 0], [3], ["x"]);

        var stats = Normalization.Fit(data);
        var result = Normalization.Apply(data, stats);

        Assert.Equal([3, 20, 5], stats.Mean);
        Assert.Equal(Math.Sqrt(8.0 / 3), stats.Std[0], 1e-12);
        Assert.Equal(0, stats.Std[2]);
        Assert.Equal([0f, 0f, 0f], new[] { result.Features[2], result.Features[5], result.Features[8] });
        Assert.Equal((float)(-2 / Math.Sqrt(8.0 / 3)), result.Features[0], 1e-6f);
    }

    [Fact]
    public void ChannelCountMismatchIsRejected()
    {
        var stats = Normalization.Fit(Images(5, 1));
        var grey = new LabeledDataset("grey", new float[16], [0], [1, 4, 4], ["x"]);

        Assert.Throws<ArgumentException>(() => Normalization.Apply(grey, stats));
    }
}
