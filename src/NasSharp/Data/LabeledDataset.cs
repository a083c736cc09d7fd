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
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(sampleShape);
        ArgumentNullException.ThrowIfNull(classNames);
        SampleSize = sampleShape.Aggregate(1, (a, b) => a * b);
        if (SampleSize <= 0) throw new ArgumentException($"Sample shape [{string.Join(",", sampleShape)}] must have positive dimensions.");
        if (features.Length != labels.Length * SampleSize)
            throw new ArgumentException($"Dataset '{name}': {features.Length} feature values do not fit {labels.Length} samples of shape [{string.Join(",", sampleShape)}].");
        foreach (var y in labels)
            if (y < 0 || y >= classNames.Count)
                throw new ArgumentException($"Dataset '{name}': label {y} outside 0..{classNames.Count - 1}.");
        Name = name;
        Features = features;
        Labels = labels;
        SampleShape = sampleShape;
        ClassNames = classNames;
    }

    public string Name { get; }
    public float[] Features { get; }
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

    /// <summary>The samples at <paramref name="indices"/>, in that order.</summary>
    public LabeledDataset Subset(IReadOnlyList<int> indices, string? name = null)
    {
        var f = new float[indices.Count * SampleSize];
        var y = new int[indices.Count];
        for (int i = 0; i < indices.Count; i++)
        {
            int src = indices[i];
            if (src < 0 || src >= Count) throw new ArgumentOutOfRangeException(nameof(indices), $"Index {src} outside 0..{Count - 1}.");
            Array.Copy(Features, (long)src * SampleSize, f, (long)i * SampleSize, SampleSize);
            y[i] = Labels[src];
        }
        return new LabeledDataset(name ?? Name, f, y, SampleShape, ClassNames);
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
