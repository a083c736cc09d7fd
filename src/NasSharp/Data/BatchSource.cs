using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Data;

/// <summary>
/// Seeded scoring batches of real or Gaussian inputs with true or random labels: one fixed batch for scoring many
/// candidates alike (<see cref="Fixed"/>), or a sequence of batches for a search that takes a step per batch
/// (<see cref="Step"/>). A batch depends only on the seed (and step) it is asked for.
/// </summary>
public sealed class BatchSource
{
    private readonly LabeledDataset? pool;
    private readonly int[] sampleShape;
    private readonly int classes;
    private readonly Device device;
    private readonly ScalarType dtype;

    /// <param name="pool">The samples batches are drawn from (already normalised); null only for Gaussian inputs with random labels.</param>
    public BatchSource(LabeledDataset? pool, IReadOnlyList<int> sampleShape, int classes, InputKind inputs, LabelKind labels,
        Device? device = null, ScalarType dtype = ScalarType.Float32)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        if (pool is null && (inputs == InputKind.Real || labels == LabelKind.True))
            throw new ArgumentException("Real inputs or true labels need a dataset.", nameof(pool));
        if (classes < 2) throw new ArgumentOutOfRangeException(nameof(classes), classes, "Need at least 2 classes.");
        (this.pool, this.sampleShape, this.classes, Inputs, Labels, this.device, this.dtype) =
            (pool, [.. sampleShape], classes, inputs, labels, device ?? CPU, dtype);
    }

    public InputKind Inputs { get; }
    public LabelKind Labels { get; }
    public IReadOnlyList<int> SampleShape => sampleShape;
    public int Classes => classes;

    /// <summary>
    /// <paramref name="n"/> samples of the pool drawn without replacement (a seeded shuffle, the first n), or Gaussian
    /// inputs and random labels in their place: the one batch a correlation run or an NTK scores every candidate on.
    /// </summary>
    public LabeledDataset Fixed(int n, long seed)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "A batch needs at least one sample.");
        LabeledDataset? drawn = null;
        if (pool is not null)
        {
            if (pool.Count < n)
                throw new ArgumentException($"The training split has {pool.Count} samples, fewer than the batch of {n}.");
            var idx = Enumerable.Range(0, pool.Count).ToArray();
            Seeds.Rng(seed, "ntk-batch").Shuffle(idx);
            drawn = pool.Subset(idx[..n]);
        }
        if (drawn is not null && Inputs == InputKind.Real && Labels == LabelKind.True) return drawn;
        float[] features = drawn is not null && Inputs == InputKind.Real ? drawn.Features : GaussianFeatures(n, Seeds.Derive(seed, "gaussian-batch"));
        int[] labels = drawn is not null && Labels == LabelKind.True ? drawn.Labels : RandomLabels(n, Seeds.Rng(seed, "random-labels"));
        return new LabeledDataset($"{Inputs.ToString().ToLowerInvariant()}-inputs", features, labels, sampleShape,
            drawn?.ClassNames ?? [.. Enumerable.Range(0, classes).Select(k => k.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
    }

    /// <summary>
    /// The <paramref name="step"/>-th batch of a sequence: <paramref name="n"/> samples drawn with replacement from the
    /// step's stream, or Gaussian inputs and random labels in their place, as tensors in the source's dtype and device.
    /// </summary>
    public (Tensor X, Tensor Y) Step(int step, int n, long seed)
    {
        if (pool is not null && pool.Count < n)
            throw new ArgumentException($"The dataset has {pool.Count} samples, fewer than the batch of {n}.");
        var rng = Seeds.Rng(seed, "nasi-batch", step);
        int[] indices = pool is null ? [] : rng.GetItems(Enumerable.Range(0, pool.Count).ToArray(), n);
        Tensor x;
        if (Inputs == InputKind.Real)
            x = pool!.Subset(indices).ToTensors(device).X.to(dtype).reshape([n, .. sampleShape.Select(d => (long)d)]);
        else
        {
            using var generator = new Generator((ulong)Seeds.Derive(seed, "nasi-gaussian", step), device: CPU);
            x = randn([n, .. sampleShape.Select(d => (long)d)], dtype: dtype, generator: generator).to(device);
        }
        var labels = Labels == LabelKind.True
            ? indices.Select(i => (long)pool!.Labels[i]).ToArray()
            : Enumerable.Range(0, n).Select(_ => (long)rng.Next(classes)).ToArray();
        return (x, tensor(labels, device: device));
    }

    private float[] GaussianFeatures(int n, long seed)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator((ulong)seed, device: CPU);
        return randn([n, .. sampleShape.Select(d => (long)d)], dtype: ScalarType.Float32, generator: generator).data<float>().ToArray();
    }

    private int[] RandomLabels(int n, Random rng) => [.. Enumerable.Range(0, n).Select(_ => rng.Next(classes))];
}
