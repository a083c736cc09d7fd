using System.Diagnostics;
using System.Globalization;
using NasSharp.Data;
using NasSharp.Networks;
using NasSharp.Search;
using NasSharp.Search.Nasi;
using NasSharp.Spaces;
using NasSharp.Store;
using NasSharp.Training;

namespace NasSharp.Experiments;

/// <summary>How a comparison runs its methods.</summary>
public sealed record ComparisonSettings
{
    /// <summary>NASI's options (T, b, μ, ν, ξ, τ, Gumbel, parameterisation); the variants override ν.</summary>
    public NasiOptions Nasi { get; init; } = new();
    /// <summary>Cells sampled by the eigen and proxy baselines (NASWOT samples 100 or 1000).</summary>
    public int Candidates { get; init; } = 100;
    /// <summary>Inputs of the baselines' scores (the NTK Gram's N; NASWOT's batch).</summary>
    public int ScoreBatch { get; init; } = 64;
    /// <summary>The proxy baselines' evaluations averaged per cell (<see cref="ProxySearchOptions.Seeds"/>); null is one, and
    /// leaves the configuration of earlier runs unchanged.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public int? ProxySeeds { get; init; }
    /// <summary>Random search: images trained per sampled cell, held-out images it ranks on, and its training.</summary>
    public int RandomTrainImages { get; init; } = 2000;
    public int RandomValidationImages { get; init; } = 1000;
    public TrainingOptions RandomTraining { get; init; } = new() { Epochs = 1, BatchSize = 64, LearningRate = 0.1 };
}

/// <summary>A method of a comparison: the strategy for (settings, seed, budget) and, when it differs, the data it searches with.</summary>
internal sealed record ComparisonMethod(string Name, Func<ComparisonSettings, int, double?, ISearchStrategy> Strategy,
    Func<DataSpec, ComparisonSettings, DataSpec>? Data = null);

/// <summary>A comparison's configuration.</summary>
public sealed record ComparisonConfig(SpaceSpec Space, DataSpec Data, IReadOnlyList<string> Methods, IReadOnlyList<int> Seeds, ComparisonSettings Settings);

/// <summary>
/// One method's outcome for one seed: the selected architecture, its test accuracies (%) per target of the space's table,
/// the search's seconds, and the other derivations of a relaxed search with theirs.
/// </summary>
public sealed record MethodRun(string Method, int Seed, string Arch, double Seconds, IReadOnlyDictionary<string, double> TestAccuracyPercent,
    string? Detail, IReadOnlyList<DerivationOutput> Derivations);

/// <summary>The mean and the sample standard deviation (n − 1; 0 for a single value).</summary>
public sealed record MeanStd(double Mean, double Std)
{
    public static MeanStd Of(IEnumerable<double> values)
    {
        var v = values.ToArray();
        double mean = v.Average();
        double std = v.Length > 1 ? Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1)) : 0;
        return new MeanStd(mean, std);
    }

    /// <summary>"mean ± std" over <paramref name="count"/> values, the mean alone for one (a single seed has no spread to show).</summary>
    public string Format(int count, string format = "F2") =>
        count > 1 ? $"{Mean.ToString(format, CultureInfo.InvariantCulture)} ± {Std.ToString(format, CultureInfo.InvariantCulture)}" : Mean.ToString(format, CultureInfo.InvariantCulture);
}

/// <summary>A method's mean ± std per target over its seeds, its mean search seconds, and its runs.</summary>
public sealed record MethodSummary(string Method, int Seeds, IReadOnlyDictionary<string, MeanStd> TestAccuracyPercent, double SearchSeconds, IReadOnlyList<MethodRun> Runs);

/// <summary>
/// What <c>nas bench search</c> reports: every method's summary (a relaxed method also gets a row per other derivation
/// rule), the exact mean of a uniformly random architecture of the table, and published figures.
/// </summary>
public sealed record ComparisonOutput(long? RunId, bool Resumed, string Space, IReadOnlyList<string> Targets, IReadOnlyList<MethodSummary> Methods,
    IReadOnlyDictionary<string, MeanStd> UniformRandom, IReadOnlyDictionary<string, PublishedFigure> Published);

/// <summary>
/// Search methods compared over seeds on a space with a table (<see cref="ExperimentKind.BenchSearch"/>): each method is a
/// strategy with its options and data, each (method, seed) a search in the space whose architecture is looked up in the
/// table. Methods: NASI-FIX (ν = 100), NASI-ADA (ν₀ = 500), NASI with random labels, NASI with Gaussian inputs, the eigen
/// strategy (best λ_min of the empirical NTK among sampled cells), NASWOT, AZ-NAS and NasSharp's ensembles (the proxy
/// strategy), and random search given
/// NASI-FIX's time of the same seed. A finished (method, seed) is journaled under <c>method/seed</c>, and the search
/// itself under <c>method/seed/</c>, so an interrupted comparison resumes inside a search too.
/// </summary>
public sealed class ComparisonExperiment : IExperiment<ComparisonOutput>
{
    /// <summary>
    /// The methods, in one table: each a strategy with its options for a seed and, where it differs, its data. Random search
    /// gets NASI-FIX's seconds of the same seed as its budget.
    /// </summary>
    private static readonly ComparisonMethod[] Table =
    [
        new("nasi-fix", (s, seed, _) => new NasiStrategy(Nasi(s, seed) with { Nu = 100, AdaptiveNu = false })),
        new("nasi-ada", (s, seed, _) => new NasiStrategy(Nasi(s, seed) with { Nu = 500, AdaptiveNu = true })),
        new("nasi-random-labels", (s, seed, _) => new NasiStrategy(Nasi(s, seed) with { Nu = 100, AdaptiveNu = false }), (d, _) => d with { Labels = LabelKind.Random }),
        new("nasi-gaussian", (s, seed, _) => new NasiStrategy(Nasi(s, seed) with { Nu = 100, AdaptiveNu = false }), (d, _) => d with { Inputs = InputKind.Gaussian }),
        new("eigen", (s, _, _) => new EigenSearch(new EigenSearchOptions { Candidates = s.Candidates, TopK = 0, NtkBatch = s.ScoreBatch, ScoringNetwork = new NetworkOptions() })),
        new("naswot", (s, _, _) => Proxy(s, "naswot")),
        new("az-nas", (s, _, _) => Proxy(s, "az_nas")),
        new("ensemble", (s, _, _) => Proxy(s, "ensemble")),
        new("ensemble-full", (s, _, _) => Proxy(s, "ensemble_full")),
        new("random", (s, _, budget) => new RandomSearch(new RandomSearchOptions { Candidates = 100_000, BudgetSeconds = budget, Training = s.RandomTraining, Test = false }),
            (d, s) => d with
            {
                TrainSize = s.RandomTrainImages.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ValidationSize = s.RandomValidationImages.ToString(System.Globalization.CultureInfo.InvariantCulture),
            }),
    ];

    /// <summary>The proxy strategy: the best of the sampled cells by a proxy or an aggregate over them, nothing trained.</summary>
    private static ProxySearch Proxy(ComparisonSettings settings, string proxy) =>
        new(new ProxySearchOptions { Proxy = proxy, Candidates = settings.Candidates, TopK = 0, Batch = settings.ScoreBatch, Seeds = settings.ProxySeeds ?? 1 });

    /// <summary>NASI's options for a seed: its Gumbel draws and batches from the stream "nasi" of the seed, as stored comparisons drew them.</summary>
    private static NasiOptions Nasi(ComparisonSettings settings, int seed) => settings.Nasi with { SampleSeed = NasSharp.Seeds.Derive(seed, "nasi") };

    public static IReadOnlyList<string> Methods { get; } = [.. Table.Select(m => m.Name)];

    private readonly ISearchSpace space;
    private readonly ExperimentData data;
    private readonly IGroundTruth table;
    private readonly string dataDirectory;
    private readonly ComparisonConfig config;

    /// <param name="dataDirectory">Where the random-search method's own subsets are loaded from.</param>
    public ComparisonExperiment(ISearchSpace space, ExperimentData data, IGroundTruth table, string dataDirectory, IReadOnlyList<string> methods,
        IReadOnlyList<int> seeds, ComparisonSettings settings)
    {
        this.space = space ?? throw new ArgumentNullException(nameof(space));
        this.data = data ?? throw new ArgumentNullException(nameof(data));
        this.table = table ?? throw new ArgumentNullException(nameof(table));
        this.dataDirectory = dataDirectory;
        foreach (var m in methods)
            if (!Methods.Contains(m)) throw new SettingException($"--methods: unknown '{m}'; use {string.Join(", ", Methods)}.");
        if (seeds.Count == 0) throw new SettingException("--seeds must be at least 1.");
        settings.Nasi.Validate();
        config = new ComparisonConfig(SpaceSpec.Of(space), data.Spec, methods, seeds, settings);
    }

    public ExperimentKind Kind => ExperimentKind.BenchSearch;
    public object Config => config;
    /// <summary>The data split's seed; each method's searches use the listed seeds.</summary>
    public long Seed => 0;

    /// <summary>Each method's strategy against the space and that method's data (random search with a stand-in budget).</summary>
    public void Validate()
    {
        foreach (var method in config.Methods)
        {
            var m = Table.Single(x => x.Name == method);
            m.Strategy(config.Settings, config.Seeds[0], 1).Validate(space, MethodData(m));
        }
    }

    private ExperimentData MethodData(ComparisonMethod m) => m.Data is null ? data : new ExperimentData(m.Data(data.Spec, config.Settings), dataDirectory, Seed);

    public ComparisonOutput Run(ExperimentContext context)
    {
        var methods = config.Methods;
        // Random search needs NASI-FIX's time of the same seed, so NASI-FIX runs first.
        var ordered = methods.Contains("random") && !methods.Contains("nasi-fix") ? ["nasi-fix", .. methods] : methods.OrderBy(m => m == "random" ? 1 : 0).ToList();
        int done = 0, total = ordered.Count * config.Seeds.Count;
        if (context.Dispatcher is { } dispatcher)
        {
            // Each (method, seed) an item; random search in a second wave, once NASI-FIX's time of its seed is stored.
            var experiment = new DispatchedExperiment(Kind, NasJson.Serialize(config), Seed);
            foreach (var wave in ordered.GroupBy(m => m == "random").OrderBy(g => g.Key))
            {
                var all = config.Seeds.SelectMany(seed => ordered.Select(method => $"{method}/{seed}")).ToList();
                var pending = config.Seeds.SelectMany(seed => wave.Select(method => (Key: $"{method}/{seed}", Item: new MethodItem(method, seed,
                        method == "random" ? NasiFixSeconds(context.Journal, seed) : null))))
                    .Where(p => !context.Journal.TryFind<MethodRun>(p.Key, out _)).ToList();
                dispatcher.JournalResults<MethodItem, MethodRun>(context, experiment, pending, r => r.Arch, space.SpaceName, "searches",
                    all.Count(k => context.Journal.TryFind<MethodRun>(k, out _)), total);
            }
        }
        var runs = new List<MethodRun>();
        foreach (var seed in config.Seeds)
            foreach (var method in ordered)
            {
                context.Cancellation.ThrowIfCancellationRequested();
                context.Report("searches", done, total, $"{method} seed {seed}");
                if (!context.Journal.TryFind<MethodRun>($"{method}/{seed}", out var run))
                {
                    double? budget = method == "random" ? NasiFixSeconds(context.Journal, seed) : null;
                    run = RunOne(method, seed, budget, context.Journal.Under($"{method}/{seed}/"), context.Device, context.Cancellation,
                        // Inside one search too: an eigen search of 100 NB201 cells or 100 NASI steps takes minutes.
                        context.Progress is null ? null : context.ForSearch($"{method} "));
                    context.Journal.Record($"{method}/{seed}", run, run.Arch, space.SpaceName);
                }
                runs.Add(run);
                context.Report("searches", ++done, total, $"{method} seed {seed}: {string.Join(", ", run.TestAccuracyPercent.Select(kv => $"{kv.Key} {kv.Value:F2}"))}");
            }
        return Summarise(runs.Where(r => methods.Contains(r.Method)).ToList(), methods, table, space.SpaceName, context.RunId, context.Resumed);
    }

    private static double NasiFixSeconds(IRunJournal journal, int seed) =>
        journal.TryFind<MethodRun>($"nasi-fix/{seed}", out var fix) ? fix.Seconds
            : throw new InvalidOperationException($"random search of seed {seed} needs NASI-FIX's time of that seed, which is not stored.");

    /// <summary>The comparison of a stored configuration, with the table and data of <paramref name="dataDirectory"/>.</summary>
    public static ComparisonExperiment FromConfig(ComparisonConfig config, string dataDirectory, SpaceRegistry spaces)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(spaces);
        var space = spaces.Recreate(config.Space.Name, config.Space.Settings);
        var table = space.GroundTruth(dataDirectory)
            ?? throw new InvalidOperationException($"no table of the {space.SpaceName} space in {dataDirectory}; a comparison looks its architectures up in one.");
        return new ComparisonExperiment(space, new ExperimentData(config.Data, dataDirectory, 0), table, dataDirectory, config.Methods, config.Seeds, config.Settings);
    }

    internal MethodRun RunOne(MethodItem item, IRunJournal journal, TorchSharp.torch.Device device) =>
        RunOne(item.Method, item.Seed, item.BudgetSeconds, journal, device, default, null);

    /// <summary>One method's search for one seed (random search given <paramref name="budget"/> seconds), its work journaled in
    /// <paramref name="journal"/>.</summary>
    private MethodRun RunOne(string method, int seed, double? budget, IRunJournal journal, TorchSharp.torch.Device device, CancellationToken cancellation,
        IProgress<SearchProgress>? progress)
    {
        var s = config.Settings;
        var m = Table.Single(x => x.Name == method);
        var strategy = m.Strategy(s, seed, budget);
        var methodData = MethodData(m);
        var clock = Stopwatch.StartNew();
        var search = new SearchContext(space, methodData, seed) { Device = device, Journal = journal, Cancellation = cancellation, Progress = progress };
        var outcome = strategy.Run(search);
        var arch = outcome.Arch ?? throw new InvalidOperationException($"{method} seed {seed} selected no architecture: {outcome.NoArchReason}.");
        IReadOnlyDictionary<string, double> Accuracies(string a) =>
            table.Lookup(space.Parse(a))?.TestAccuracyPercent ?? throw new InvalidOperationException($"{a} is not in the table {table.Source}.");
        string? detail = outcome.Relaxed is { } r ? $"trace norm mean {r.Steps.Average(st => st.TraceNorm):G4}"
            : method == "random" ? $"{outcome.Trained.Count} cells trained on {s.RandomTrainImages} images; best validation accuracy {outcome.Ranked[0].Score:F2}%"
            : $"best score {outcome.Ranked[0].Score:G4} of {outcome.Ranked.Count} cells ({outcome.Ranked.Count(c => !c.IsFinite)} non-finite)";
        var derivations = outcome.Relaxed is { } relaxed
            ? relaxed.Derivations.Skip(1).Select(d => new DerivationOutput(d.Key, d.Value, Accuracies(d.Value))).ToList()
            : [];
        return new MethodRun(method, seed, arch, clock.Elapsed.TotalSeconds, Accuracies(arch), detail, derivations);
    }

    /// <summary>Summaries per method (and per other derivation rule of a relaxed method), the table's exact uniform mean, published figures.</summary>
    public static ComparisonOutput Summarise(IReadOnlyList<MethodRun> runs, IReadOnlyList<string> methods, IGroundTruth table, string space, long? runId, bool resumed)
    {
        var targets = table.Targets.Select(t => t.Name).ToList();
        MethodSummary Summary(string method, List<(MethodRun Run, string Arch, IReadOnlyDictionary<string, double> Accuracy)> r) =>
            new(method, r.Count, targets.ToDictionary(t => t, t => MeanStd.Of(r.Select(x => x.Accuracy[t]))), r.Average(x => x.Run.Seconds),
                [.. r.Select(x => x.Run with { Arch = x.Arch, TestAccuracyPercent = x.Accuracy })]);
        var summaries = new List<MethodSummary>();
        foreach (var m in methods)
        {
            var r = runs.Where(x => x.Method == m).ToList();
            if (r.Count == 0) continue;
            summaries.Add(Summary(m, [.. r.Select(x => (x, x.Arch, x.TestAccuracyPercent))]));
            // A relaxed search also gives its other derivations; a row of its own when every seed has it.
            foreach (var rule in r[0].Derivations.Select(d => d.Rule))
                if (r.All(x => x.Derivations.Any(d => d.Rule == rule && d.TestAccuracyPercent is not null)))
                    summaries.Add(Summary($"{m} ({rule})", [.. r.Select(x => x.Derivations.First(d => d.Rule == rule)).Zip(r, (d, x) => (x, d.Arch, d.TestAccuracyPercent!))]));
        }
        // A uniformly random architecture's expected accuracy, exactly, over the whole table.
        var uniform = targets.ToDictionary(t => t, t => MeanStd.Of(table.Entries.Select(e => e.TestAccuracyPercent[t])));
        return new ComparisonOutput(runId, resumed, space, targets, summaries, uniform, table.PublishedSearches);
    }
}

/// <summary>One (method, seed) of a comparison, to search elsewhere; random search's time budget when the method is random.</summary>
public sealed record MethodItem(string Method, int Seed, double? BudgetSeconds);

/// <summary>
/// Runs a comparison's (method, seed) searches from its configuration alone, with the table and data of the worker's own data
/// directory: a cluster's worker side of <c>nas bench search</c>. A search on a worker keeps its inner work in memory: the
/// item is the whole search, stored by the coordinator when it is done.
/// </summary>
public sealed class ComparisonScorer(ComparisonConfig config, string dataDirectory, SpaceRegistry spaces, TorchSharp.torch.Device device) : IDisposable
{
    private readonly ComparisonExperiment experiment = ComparisonExperiment.FromConfig(config, dataDirectory, spaces);

    public MethodRun Score(MethodItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        return experiment.RunOne(item, new MemoryJournal(), device);
    }

    public void Dispose() { }
}
