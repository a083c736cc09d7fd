using NasSharp.Data;
using NasSharp.Networks;
using NasSharp.Spaces;
using NasSharp.Store;
using NasSharp.Training;

namespace NasSharp.Experiments;

/// <summary>A truth run's configuration.</summary>
public sealed record TruthConfig(SpaceSpec Space, DataSpec Data, int N, TrainingOptions Training, NetworkOptions Network);

/// <summary>One architecture's trained accuracies (%): the ground truth of a space without a table.</summary>
public sealed record TruthEntry(int Index, string Arch, double? ValidationAccuracyPercent, double? TestAccuracyPercent, bool Diverged, double Seconds);

/// <summary>What <c>nas bench truth</c> reports.</summary>
public sealed record TruthOutput(long? RunId, bool Resumed, string Space, string Dataset, int N, int Epochs, long Seed, int Diverged,
    double? TestAccuracyPercentMean, double? TestAccuracyPercentMin, double? TestAccuracyPercentMax, IReadOnlyList<TruthEntry> Entries);

/// <summary>
/// Trains architectures one by one under one budget and journals each as it finishes (key <c>truth/i</c>), so a killed run
/// resumes without redoing or duplicating any. Each genotype's weights and minibatch order are seeded by the streams
/// "truth-init" and "truth-order" of its canonical string, so a genotype trains alike wherever it appears.
/// </summary>
public static class ArchitectureTrainer
{
    public static IReadOnlyList<TruthEntry> TrainAll(ISearchSpace space, IReadOnlyList<IGenotype> architectures, ExperimentData data, NetworkOptions network,
        TrainingOptions training, long seed, ExperimentContext context, string task = "training")
    {
        var entries = new List<TruthEntry>(architectures.Count);
        for (int i = 0; i < architectures.Count; i++)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            var g = architectures[i];
            if (!context.Journal.TryFind<TruthEntry>($"truth/{i}", out var entry) || entry.Arch != g.Canonical)
            {
                if (entry is not null)
                    throw new InvalidOperationException($"The stored item 'truth/{i}' is {entry.Arch}, not {g.Canonical}: the stored run was made under another configuration.");
                entry = Train(space, g, i, data, network, training, seed, context.Device, context.Cancellation);
                context.Journal.Record($"truth/{i}", entry, g.Canonical, space.SpaceName);
            }
            entries.Add(entry);
            context.Report(task, i + 1, architectures.Count, g.Canonical);
        }
        return entries;
    }

    /// <summary>Architecture <paramref name="index"/> of a run trained from scratch: its seeds depend on the run's seed and the
    /// genotype alone, so any process computes the same entry.</summary>
    public static TruthEntry Train(ISearchSpace space, IGenotype g, int index, ExperimentData data, NetworkOptions network, TrainingOptions training,
        long seed, TorchSharp.torch.Device device, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(space);
        ArgumentNullException.ThrowIfNull(g);
        ArgumentNullException.ThrowIfNull(data);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var r = Trainer.FitArchitecture(space, g, data.Splits, network, training with { Seed = Seeds.Derive(seed, "truth-order", g.Canonical) },
            Seeds.Derive(seed, "truth-init", g.Canonical), device, cancellation: cancellation);
        return new TruthEntry(index, g.Canonical, r.ValidationAccuracyPercent, r.TestAccuracyPercent, r.Diverged, clock.Elapsed.TotalSeconds);
    }
}

/// <summary>
/// Trained ground truth for a space without a table (<see cref="ExperimentKind.Truth"/>): N distinct architectures sampled
/// from the seed's stream "truth-architectures", trained by <see cref="ArchitectureTrainer"/>; used by correlation runs
/// exactly like a table (<see cref="TruthGroundTruth"/>).
/// </summary>
public sealed class TruthExperiment : IExperiment<TruthOutput>
{
    private readonly ISearchSpace space;
    private readonly ExperimentData data;
    private readonly TruthConfig config;

    public TruthExperiment(ISearchSpace space, ExperimentData data, int n, TrainingOptions training, long seed, NetworkOptions? network = null)
    {
        this.space = space ?? throw new ArgumentNullException(nameof(space));
        this.data = data ?? throw new ArgumentNullException(nameof(data));
        if (n < 1) throw new SettingException($"--n {n}: need at least one architecture.");
        if (space.Count < n) throw new SettingException($"--n {n}: the space has only {space.Count} genotypes.");
        training.Validate();
        config = new TruthConfig(SpaceSpec.Of(space), data.Spec, n, training, network ?? new NetworkOptions());
        Seed = seed;
    }

    public ExperimentKind Kind => ExperimentKind.Truth;
    public object Config => config;
    public long Seed { get; }

    public TruthOutput Run(ExperimentContext context)
    {
        var architectures = space.SampleDistinct(config.N, Seeds.Rng(Seed, "truth-architectures"));
        if (context.Dispatcher is { } dispatcher)
        {
            var pending = architectures.Select((g, i) => (Key: $"truth/{i}", Item: new TruthItem(i, g.Canonical)))
                .Where(p => !context.Journal.TryFind<TruthEntry>(p.Key, out _)).ToList();
            dispatcher.JournalResults<TruthItem, TruthEntry>(context, new DispatchedExperiment(Kind, NasJson.Serialize(config), Seed),
                pending, e => e.Arch, space.SpaceName, "training", config.N - pending.Count, config.N);
        }
        var entries = ArchitectureTrainer.TrainAll(space, architectures, data, config.Network, config.Training, Seed, context);
        var finite = entries.Where(e => e.TestAccuracyPercent is not null).Select(e => e.TestAccuracyPercent!.Value).ToList();
        return new TruthOutput(context.RunId, context.Resumed, space.SpaceName, data.Name, entries.Count, config.Training.Epochs, Seed,
            entries.Count(e => e.Diverged), finite.Count > 0 ? finite.Average() : null, finite.Count > 0 ? finite.Min() : null,
            finite.Count > 0 ? finite.Max() : null, entries);
    }
}

/// <summary>A stored truth run as ground truth: its trained test accuracies (diverged ones left out), one target (its dataset).</summary>
public sealed class TruthGroundTruth : IGroundTruth
{
    private readonly Dictionary<string, GroundTruthEntry> byArch;

    private TruthGroundTruth(string source, ISearchSpace space, GroundTruthTarget target, IReadOnlyList<GroundTruthEntry> entries)
    {
        Source = source;
        Space = space;
        Targets = [target];
        Entries = entries;
        byArch = entries.ToDictionary(e => e.Arch.Canonical);
    }

    /// <summary>The space the run trained architectures of (recreated from its stored settings).</summary>
    public ISearchSpace Space { get; }

    /// <summary>The dataset the run trained on.</summary>
    public string Dataset => Targets[0].Name;

    public string Source { get; }
    public IReadOnlyList<GroundTruthTarget> Targets { get; }
    public IReadOnlyList<GroundTruthEntry> Entries { get; }
    public IReadOnlyDictionary<string, PublishedFigure> PublishedCorrelations { get; } = new Dictionary<string, PublishedFigure>();
    public IReadOnlyDictionary<string, PublishedFigure> PublishedSearches { get; } = new Dictionary<string, PublishedFigure>();

    /// <summary>The run <paramref name="runId"/> of <paramref name="store"/>, which must be a truth run.</summary>
    public static TruthGroundTruth Load(ResultsStore store, long runId, SpaceRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(registry);
        var run = store.GetRun(runId) ?? throw new SettingException($"--truth {runId}: no such run in {store.FilePath}.");
        if (run.Kind != ExperimentRun.KindName(ExperimentKind.Truth))
            throw new SettingException($"--truth {runId}: run {runId} is a {run.Kind} run, not a truth run (nas bench truth).");
        TruthConfig config;
        try { config = NasJson.Deserialize<TruthConfig>(run.ConfigJson); }
        catch (System.Text.Json.JsonException e)
        {
            throw new SettingException($"--truth {runId}: its configuration was stored by another version of NasSharp ({e.Message}); train the ground truth again.");
        }
        var space = registry.Recreate(config.Space.Name, config.Space.Settings);
        var entries = StoreJournal.Read(store.GetResults(runId)).All<TruthEntry>("truth/").Select(r => r.Value)
            .Where(e => e.TestAccuracyPercent is not null)
            .Select(e => new GroundTruthEntry(space.Parse(e.Arch), new Dictionary<string, double> { [config.Data.Dataset] = e.TestAccuracyPercent!.Value }))
            .ToList();
        var target = new GroundTruthTarget(config.Data.Dataset, config.Data.Entry().Classes);
        return new TruthGroundTruth($"truth run {runId} of {store.FilePath}", space, target, entries);
    }

    /// <summary>A seeded shuffle of the entries, the first <paramref name="count"/>.</summary>
    public IReadOnlyList<GroundTruthEntry> Sample(int count, Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (count < 0 || count > Entries.Count)
            throw new SettingException($"--n {count}: {Source} has {Entries.Count} trained architectures; ask for at most that many.");
        var shuffled = Entries.ToArray();
        rng.Shuffle(shuffled);
        return shuffled[..count];
    }

    public GroundTruthEntry? Lookup(IGenotype arch) => byArch.GetValueOrDefault(arch.Canonical);
}

/// <summary>One architecture of a truth run, to train: its index in the run and its genotype.</summary>
public sealed record TruthItem(int Index, string Arch);

/// <summary>Trains a truth run's architectures from the run's configuration alone: a cluster's worker side of a truth run.</summary>
public sealed class TruthScorer(TruthConfig config, long seed, string dataDirectory, SpaceRegistry spaces, TorchSharp.torch.Device device) : IDisposable
{
    private readonly ISearchSpace space = spaces.Recreate(config.Space.Name, config.Space.Settings);
    private readonly ExperimentData data = new(config.Data, dataDirectory, seed);

    public TruthEntry Score(TruthItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        return ArchitectureTrainer.Train(space, space.Parse(item.Arch), item.Index, data, config.Network, config.Training, seed, device);
    }

    public void Dispose() { }
}
