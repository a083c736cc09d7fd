using System.Diagnostics;
using NasSharp.Data;
using NasSharp.Networks;
using NasSharp.Spaces;
using NasSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Benchmarks;

/// <summary>One architecture's trained accuracy: the ground truth for spaces without a benchmark table.</summary>
public sealed record TruthEntry(int Index, string Arch, double? ValidationAccuracy, double? TestAccuracy, bool Diverged, double Seconds);

/// <summary>Where a truth run keeps finished entries, so a killed run resumes without redoing or duplicating any.</summary>
public interface ITruthJournal
{
    TruthEntry? Find(int index, string arch);
    void Record(TruthEntry entry);
}

public sealed record TrainedTruthOptions
{
    public int Architectures { get; init; } = 100;
    public TrainingOptions Training { get; init; } = new() { Epochs = 2 };
    public NetworkOptions Network { get; init; } = new();
    public long Seed { get; init; }

    public void Validate()
    {
        if (Architectures < 1) throw new ArgumentOutOfRangeException(nameof(Architectures), Architectures, "Need at least one architecture.");
        Training.Validate();
    }
}

/// <summary>
/// Trains N distinct architectures sampled (seeded) from a space under one budget and records each as it
/// finishes: our own trained benchmark, used by the correlation harness exactly like the NB201 table.
/// </summary>
public sealed class TrainedTruth(ISearchSpace space, TrainedTruthOptions options)
{
    public ISearchSpace Space { get; } = space;
    public TrainedTruthOptions Options { get; } = options;

    public IReadOnlyList<IGenotype> Architectures()
    {
        Options.Validate();
        if (Space.Count < Options.Architectures)
            throw new ArgumentException($"The space has only {Space.Count} genotypes; ask for at most that many architectures.");
        var rng = Seeds.Rng(Options.Seed, "truth-architectures");
        var seen = new HashSet<string>();
        var list = new List<IGenotype>();
        while (list.Count < Options.Architectures)
        {
            var g = Space.Sample(rng);
            if (seen.Add(g.Canonical)) list.Add(g);
        }
        return list;
    }

    /// <summary>
    /// Trains <paramref name="architectures"/> (default: <see cref="Architectures"/>, the seeded sample) one by one, each
    /// with weights and data order seeded by its canonical string, so a genotype gets the same training wherever it appears.
    /// </summary>
    public IReadOnlyList<TruthEntry> Run(DataSplits data, ITruthJournal journal, Device? device = null,
        IProgress<(int Done, int Total, string Arch)>? progress = null, CancellationToken cancellation = default,
        IReadOnlyList<IGenotype>? architectures = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(journal);
        device ??= CPU;
        Options.Validate();
        var archs = architectures ?? Architectures();
        var entries = new List<TruthEntry>();
        for (int i = 0; i < archs.Count; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            var g = archs[i];
            var entry = journal.Find(i, g.Canonical);
            if (entry is null)
            {
                entry = Train(i, g, data, device, cancellation);
                journal.Record(entry);
            }
            entries.Add(entry);
            progress?.Report((i + 1, archs.Count, g.Canonical));
        }
        return entries;
    }

    private TruthEntry Train(int index, IGenotype g, DataSplits data, Device device, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        using var scope = torch.NewDisposeScope();
        using var model = NetworkFactory.Build(g, data.Train.SampleShape, data.Train.NumClasses, Options.Network,
            Seeds.Derive(Options.Seed, "truth-init", g.Canonical), device);
        var training = Options.Training with { Seed = Seeds.Derive(Options.Seed, "truth-order", g.Canonical) };
        var r = Trainer.Fit(model, data.Train, data.Validation, data.Test, training, device, null, cancellation);
        return new TruthEntry(index, g.Canonical, r.ValidationAccuracy, r.TestAccuracy, r.Diverged, clock.Elapsed.TotalSeconds);
    }
}
