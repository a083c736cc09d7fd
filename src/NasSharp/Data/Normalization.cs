namespace NasSharp.Data;

/// <summary>Per-channel mean and standard deviation (population, ddof = 0) of a training set.</summary>
public sealed record ChannelStats(IReadOnlyList<double> Mean, IReadOnlyList<double> Std)
{
    public int Channels => Mean.Count;
}

/// <summary>
/// Standardisation x' = (x - mean_c) / std_c with statistics fitted on the training split only, so no
/// information from validation or test leaks into preprocessing. A "channel" is the first dimension of an
/// image shape ([C, H, W] or [C, L]); for a flat feature vector ([F]) every feature is its own channel, as
/// in scikit-learn's StandardScaler. A constant channel (std 0) is centred but not scaled, also as in
/// StandardScaler, rather than divided by zero.
/// </summary>
public static class Normalization
{
    /// <summary>(channel count, values per channel in one sample) for a sample shape.</summary>
    public static (int Channels, int ValuesPerChannel) ChannelLayout(IReadOnlyList<int> sampleShape)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        if (sampleShape.Count == 0) throw new ArgumentException("A sample shape needs at least one dimension.", nameof(sampleShape));
        int size = sampleShape.Aggregate(1, (a, b) => a * b);
        return sampleShape.Count == 1 ? (sampleShape[0], 1) : (sampleShape[0], size / sampleShape[0]);
    }

    public static ChannelStats Fit(LabeledDataset train)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (train.Count == 0) throw new ArgumentException($"Cannot fit normalisation statistics on the empty dataset '{train.Name}'.", nameof(train));
        var (channels, per) = ChannelLayout(train.SampleShape);
        var sum = new double[channels];
        train.ForEachChannel((c, values) =>
        {
            foreach (var v in values) sum[c] += v;
        });
        double n = (double)train.Count * per;
        var mean = sum.Select(s => s / n).ToArray();
        // Second pass on centred values: a one-pass E[x^2] - E[x]^2 cancels badly for large offsets.
        var squares = new double[channels];
        train.ForEachChannel((c, values) =>
        {
            foreach (var v in values) squares[c] += (v - mean[c]) * (v - mean[c]);
        });
        var std = squares.Select(s => Math.Sqrt(s / n)).ToArray();
        return new ChannelStats(mean, std);
    }

    public static LabeledDataset Apply(LabeledDataset data, ChannelStats stats)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(stats);
        var (channels, per) = ChannelLayout(data.SampleShape);
        if (channels != stats.Channels)
            throw new ArgumentException($"Dataset '{data.Name}' has {channels} channels but the statistics have {stats.Channels}.", nameof(stats));
        var shift = stats.Mean.ToArray();
        var scale = stats.Std.Select(s => s > 0 ? 1.0 / s : 1.0).ToArray();
        // An image set kept as bytes gets a new lookup table, the same values as normalising its floats.
        return data.MapChannels((c, x) => (float)((x - shift[c]) * scale[c]));
    }

    /// <summary>Fits on <paramref name="splits"/>.Train and applies the same statistics to all three splits.</summary>
    public static (DataSplits Splits, ChannelStats Stats) Standardize(DataSplits splits)
    {
        ArgumentNullException.ThrowIfNull(splits);
        var stats = Fit(splits.Train);
        return (new DataSplits(Apply(splits.Train, stats), Apply(splits.Validation, stats), Apply(splits.Test, stats)), stats);
    }
}
