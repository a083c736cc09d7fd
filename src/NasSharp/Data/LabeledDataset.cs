using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Data;

/// <summary>
/// An in-memory labelled dataset: features as a flat float array (sample-major, each sample of
/// <see cref="SampleShape"/>), integer class labels. Kept outside libtorch so that subsetting and
/// splitting never leak native memory; <see cref="ToTensors"/> makes tensors on demand.
/// </summary>
public sealed class LabeledDataset
{
    public LabeledDataset(string name, float[] features, int[] labels, int[] sampleShape, IReadOnlyList<string> classNames)
        : this(name, labels, sampleShape, classNames, features.Length)
    {
        featureValues = new Lazy<float[]>(features);
    }

    /// <summary>
    /// Images kept as bytes (sample-major, CHW), decoded to floats only for the samples that are read:
    /// x = <paramref name="levels"/>[c][b] for byte b of channel c (<see cref="PixelLevels"/>). Subsets and
    /// normalisation stay bytes, so drawing a batch of a large image set never materialises it as floats.
    /// </summary>
    public LabeledDataset(string name, byte[] pixels, int[] labels, int[] sampleShape, IReadOnlyList<string> classNames, PixelLevels levels)
        : this(name, labels, sampleShape, classNames, (pixels ?? throw new ArgumentNullException(nameof(pixels))).Length)
    {
        ArgumentNullException.ThrowIfNull(levels);
        if (levels.Channels != Normalization.ChannelLayout(sampleShape).Channels)
            throw new ArgumentException($"Dataset '{name}': the pixel levels have {levels.Channels} channels, the samples {Normalization.ChannelLayout(sampleShape).Channels}.");
        (bytes, Levels) = (pixels, levels);
        featureValues = new Lazy<float[]>(() =>
        {
            var f = new float[bytes.Length];
            for (int i = 0; i < Count; i++) Decode(i, f.AsSpan(i * SampleSize, SampleSize));
            return f;
        });
    }

    private LabeledDataset(string name, int[] labels, int[] sampleShape, IReadOnlyList<string> classNames, int values)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(sampleShape);
        ArgumentNullException.ThrowIfNull(classNames);
        SampleSize = sampleShape.Aggregate(1, (a, b) => a * b);
        if (SampleSize <= 0) throw new ArgumentException($"Sample shape [{string.Join(",", sampleShape)}] must have positive dimensions.");
        if (values != labels.Length * SampleSize)
            throw new ArgumentException($"Dataset '{name}': {values} feature values do not fit {labels.Length} samples of shape [{string.Join(",", sampleShape)}].");
        foreach (var y in labels)
            if (y < 0 || y >= classNames.Count)
                throw new ArgumentException($"Dataset '{name}': label {y} outside 0..{classNames.Count - 1}.");
        Name = name;
        Labels = labels;
        SampleShape = sampleShape;
        ClassNames = classNames;
        featureValues = null!; // each public constructor sets it: floats given, or bytes decoded on demand
    }

    private readonly Lazy<float[]> featureValues;
    private readonly byte[]? bytes;

    /// <summary>How the bytes of an image set map to feature values; null when the features are floats.</summary>
    public PixelLevels? Levels { get; }

    /// <summary>Whether the features are kept as bytes and decoded on demand (<see cref="Levels"/>).</summary>
    public bool IsBytes => bytes is not null;

    /// <summary>
    /// The features as floats, sample-major. For a byte image set this decodes every sample once (and keeps the floats):
    /// read <see cref="Subset"/>s or <see cref="CopySample"/> to touch only some.
    /// </summary>
    public float[] Features => featureValues.Value;

    /// <summary>Writes sample <paramref name="index"/>'s features to <paramref name="destination"/>, decoding only it.</summary>
    public void CopySample(int index, Span<float> destination)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), $"Index {index} outside 0..{Count - 1}.");
        if (destination.Length < SampleSize) throw new ArgumentException($"The destination holds {destination.Length} values; a sample has {SampleSize}.", nameof(destination));
        if (bytes is null || featureValues.IsValueCreated) featureValues.Value.AsSpan(index * SampleSize, SampleSize).CopyTo(destination);
        else Decode(index, destination);
    }

    private void Decode(int index, Span<float> destination)
    {
        int per = SampleSize / Levels!.Channels;
        var source = bytes.AsSpan(index * SampleSize, SampleSize);
        for (int c = 0; c < Levels.Channels; c++)
        {
            var table = Levels[c];
            var from = source.Slice(c * per, per);
            var to = destination.Slice(c * per, per);
            for (int i = 0; i < per; i++) to[i] = table[from[i]];
        }
    }

    public string Name { get; }
    public int[] Labels { get; }
    /// <summary>Shape of one sample, e.g. [1, 28, 28] for MNIST, [3, 32, 32] for CIFAR-10, [64] for digits.</summary>
    public int[] SampleShape { get; }
    public int SampleSize { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public int Count => Labels.Length;
    public int NumClasses => ClassNames.Count;
    public int InputDimension => SampleSize;

    /// <summary>Number of samples of each class, indexed by label.</summary>
    public int[] ClassCounts()
    {
        var counts = new int[NumClasses];
        foreach (var y in Labels) counts[y]++;
        return counts;
    }

    /// <summary>The samples at <paramref name="indices"/>, in that order (bytes stay bytes).</summary>
    public LabeledDataset Subset(IReadOnlyList<int> indices, string? name = null)
    {
        var y = new int[indices.Count];
        for (int i = 0; i < indices.Count; i++)
        {
            int src = indices[i];
            if (src < 0 || src >= Count) throw new ArgumentOutOfRangeException(nameof(indices), $"Index {src} outside 0..{Count - 1}.");
            y[i] = Labels[src];
        }
        if (bytes is not null)
        {
            var b = new byte[indices.Count * SampleSize];
            for (int i = 0; i < indices.Count; i++) Array.Copy(bytes, (long)indices[i] * SampleSize, b, (long)i * SampleSize, SampleSize);
            return new LabeledDataset(name ?? Name, b, y, SampleShape, ClassNames, Levels!);
        }
        var f = new float[indices.Count * SampleSize];
        for (int i = 0; i < indices.Count; i++) Array.Copy(Features, (long)indices[i] * SampleSize, f, (long)i * SampleSize, SampleSize);
        return new LabeledDataset(name ?? Name, f, y, SampleShape, ClassNames);
    }

    /// <summary>The same samples with each channel's values mapped by <paramref name="map"/>: for a byte image set, a new
    /// lookup table over the same bytes (nothing decoded); otherwise a new float array.</summary>
    internal LabeledDataset MapChannels(Func<int, float, float> map, string? name = null)
    {
        var labels = (int[])Labels.Clone();
        var shape = (int[])SampleShape.Clone();
        if (bytes is not null)
            return new LabeledDataset(name ?? Name, bytes, labels, shape, ClassNames,
                new PixelLevels([.. Enumerable.Range(0, Levels!.Channels).Select(c => Levels[c].ToArray().Select(v => map(c, v)).ToArray())]));
        var (_, per) = Normalization.ChannelLayout(SampleShape);
        var x = Features;
        var y = new float[x.Length];
        for (int offset = 0; offset < x.Length; offset += per)
        {
            int c = offset % SampleSize / per;
            for (int i = offset; i < offset + per; i++) y[i] = map(c, x[i]);
        }
        return new LabeledDataset(name ?? Name, y, labels, shape, ClassNames);
    }

    /// <summary>
    /// Calls <paramref name="visit"/> with (channel, values) for each channel of each sample in order, decoding bytes
    /// one sample at a time (so a statistic of a byte image set never materialises it).
    /// </summary>
    internal void ForEachChannel(Action<int, ReadOnlySpan<float>> visit)
    {
        var (channels, per) = Normalization.ChannelLayout(SampleShape);
        bool decode = bytes is not null && !featureValues.IsValueCreated;
        var buffer = decode ? new float[SampleSize] : [];
        for (int i = 0; i < Count; i++)
        {
            ReadOnlySpan<float> sample;
            if (decode)
            {
                Decode(i, buffer);
                sample = buffer;
            }
            else sample = Features.AsSpan(i * SampleSize, SampleSize);
            for (int k = 0; k < SampleSize / per; k++) visit(k % channels, sample.Slice(k * per, per));
        }
    }

    /// <summary>Features as a float32 tensor [N, ...SampleShape] and labels as int64 [N].</summary>
    public (Tensor X, Tensor Y) ToTensors(Device? device = null)
    {
        var shape = new long[] { Count }.Concat(SampleShape.Select(s => (long)s)).ToArray();
        var x = torch.tensor(Features, shape, dtype: ScalarType.Float32, device: device);
        var y = torch.tensor(Labels.Select(l => (long)l).ToArray(), dtype: ScalarType.Int64, device: device);
        return (x, y);
    }
}

/// <summary>
/// The feature value of each byte 0..255, per channel, of a <see cref="LabeledDataset"/> kept as bytes: b/255 to begin
/// with (<see cref="UnitInterval"/>, torchvision's ToTensor), then whatever normalisation maps that to.
/// </summary>
public sealed class PixelLevels
{
    private readonly float[][] tables;

    public PixelLevels(IReadOnlyList<float[]> tables)
    {
        ArgumentNullException.ThrowIfNull(tables);
        if (tables.Count == 0 || tables.Any(t => t is null || t.Length != 256))
            throw new ArgumentException("Give one table of 256 values per channel.", nameof(tables));
        this.tables = [.. tables.Select(t => (float[])t.Clone())];
    }

    /// <summary>b/255 for every channel.</summary>
    public static PixelLevels UnitInterval(int channels) =>
        new([.. Enumerable.Range(0, channels).Select(_ => Enumerable.Range(0, 256).Select(b => b / 255f).ToArray())]);

    public int Channels => tables.Length;

    /// <summary>Channel <paramref name="channel"/>'s value of each byte.</summary>
    public ReadOnlySpan<float> this[int channel] => tables[channel];
}
