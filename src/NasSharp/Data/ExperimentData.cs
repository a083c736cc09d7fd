using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Data;

/// <summary>
/// The one data pipeline every experiment uses: load the dataset of a <see cref="DataSpec"/>, split it (stratified,
/// seeded by the experiment's seed), standardise it with statistics of the training split only — done on first use, so
/// a data-agnostic search (Gaussian inputs, random labels) never loads the dataset — and hand out scoring batches
/// (<see cref="BatchSource"/>).
/// </summary>
public sealed class ExperimentData
{
    private readonly Lazy<DataSplits> splits;

    /// <param name="dataDirectory">The data root (<see cref="DataDirectory.Resolve(string?)"/>).</param>
    /// <param name="seed">The experiment's seed; the split uses its stream "data-split".</param>
    /// <param name="loading">Decoding progress (done, total) of a slow first load.</param>
    public ExperimentData(DataSpec spec, string dataDirectory, long seed, IProgress<(int Done, int Total)>? loading = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(dataDirectory);
        spec.Validate();
        Spec = spec;
        Entry = spec.Entry();
        splits = new Lazy<DataSplits>(() =>
        {
            var raw = Entry.Load(dataDirectory, progress: loading);
            var divided = NasSharp.Data.Splits.Make(raw, spec.SplitOptions(unchecked((int)Seeds.Derive(seed, "data-split"))));
            var standardised = Normalization.Standardize(divided).Splits;
            // The decoded source is garbage now (150 MB of bytes for CIFAR-10); an aggressive collection returns its pages
            // to the system before scoring starts, instead of keeping them resident for the run.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            return standardised;
        });
    }

    /// <summary>Data already in memory (tests, library users with their own splits).</summary>
    public ExperimentData(DataSpec spec, DataSplits splits)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(splits);
        Spec = spec;
        Entry = spec.Entry();
        this.splits = new Lazy<DataSplits>(splits);
    }

    public DataSpec Spec { get; }
    public DatasetEntry Entry { get; }
    public string Name => Spec.Dataset;
    public IReadOnlyList<int> SampleShape => splits.IsValueCreated ? Splits.Train.SampleShape : Entry.SampleShape;
    public int Classes => splits.IsValueCreated ? Splits.Train.NumClasses : Entry.Classes;

    /// <summary>Train, validation and test, loaded on first use.</summary>
    public DataSplits Splits => splits.Value;

    /// <summary>Batches of the spec's inputs and labels, drawn from the training split when they need the dataset.</summary>
    public BatchSource Batches(Device? device = null, ScalarType dtype = ScalarType.Float32) =>
        new(Spec.BatchesNeedDataset ? Splits.Train : null, SampleShape, Classes, Spec.Inputs, Spec.Labels, device, dtype);
}
