using System.Diagnostics;
using System.Numerics;
using NasSharp.Data;
using NasSharp.Networks;
using NasSharp.Search;
using NasSharp.Search.Bilevel;
using NasSharp.Spaces;
using NasSharp.Theory;
using NasSharp.Training;

namespace NasSharp.Experiments;

/// <summary>
/// An activation-search run's configuration: the space, the datasets, the exhaustive ground truth's training (budget and
/// seeds), the validation sizes n_V swept and each strategy's options (their n_V is replaced by each size of the sweep).
/// </summary>
public sealed record ActivationSearchConfig(SpaceSpec Space, IReadOnlyList<DataSpec> Data, int TruthSeeds, int SearchSeeds, TrainingOptions Training,
    NetworkOptions Network, IReadOnlyList<int> ValPoints, BilevelOptions Bilevel, MklOptions Mkl, SpectralOptions Spectral, EigenSearchOptions Eigen);

/// <summary>What one strategy picked on one dataset at one n_V (0: the strategy has no validation sample) and search seed.</summary>
public sealed record ActivationPick(string Dataset, string Method, int ValPoints, int SearchSeed, string? Arch, string? NoArchReason, double Seconds);

/// <summary>One architecture's exhaustive ground truth on one dataset: test and validation accuracy (%) per training seed and their means.</summary>
public sealed record ActivationTruthRow(string Dataset, string Arch, IReadOnlyList<double?> TestAccuracyPercent, double? MeanTestAccuracyPercent,
    double? StdTestAccuracyPercent, double? MeanValidationAccuracyPercent, int Diverged);

/// <summary>
/// A method's picks on one dataset at one n_V (over the search seeds) and the exhaustive ground truth's mean test accuracy of
/// them (%): <see cref="GapPoints"/> is the best architecture's mean minus the picks' mean.
/// </summary>
public sealed record ActivationMethodRow(string Dataset, string Method, int ValPoints, IReadOnlyList<string?> Picks, double? MeanTestAccuracyPercent, double? GapPoints);

/// <summary>
/// The smallest n_V from which a method's picks stay within <see cref="ActivationSearchOutput.TolerancePoints"/> of the best at
/// every larger n_V of the sweep (null: not even at the largest), and whether it met that at the largest.
/// </summary>
public sealed record ActivationDegradation(string Dataset, string Method, int? SmallestValPoints, bool WithinAtLargest);

/// <summary>What <c>nas bench activations</c> reports.</summary>
public sealed record ActivationSearchOutput(long? RunId, string Space, int Candidates, IReadOnlyList<string> Datasets, int TruthSeeds, int SearchSeeds,
    int Epochs, double TolerancePoints, IReadOnlyDictionary<string, string> Best, IReadOnlyDictionary<string, double> BestTestAccuracyPercent,
    IReadOnlyList<ActivationTruthRow> Truth, IReadOnlyList<ActivationMethodRow> Methods, IReadOnlyList<ActivationDegradation> Degradation, double Seconds);

/// <summary>
/// Activation search on real data against its exhaustive ground truth (<see cref="ExperimentKind.ActivationSearch"/>; the
/// real-data experiment of train–validation NAS, Oymak, Li &amp; Soltanolkotabi, ICML 2021, arXiv 2104.14132): on each
/// dataset, every discrete architecture of the space's relaxation (for <c>mlp</c>, every activation assignment) is trained
/// by <see cref="ArchitectureTrainer"/> under one budget with each of the truth seeds (journal keys
/// <c>truth/dataset/s/i</c>, each the stream "truth-seed" s of the run's seed), the mean test accuracy over the seeds being
/// the ground truth; then the strategies search on the same splits, each a <see cref="ISearchStrategy"/> exactly as
/// <c>nas search</c> runs it (keys <c>pick/dataset/method/n_V/k</c>): bilevel (first-order and implicit hypergradient, each also with the
/// calibrated upper loss), mkl and spectral at every n_V of the sweep,
/// eigen (λ_min of the empirical NTK, no training) and training-loss selection (bilevel with the training split as its upper
/// level) once, since they read no validation sample. Every item is journaled as it finishes, so a killed run resumes.
/// </summary>
public sealed class ActivationSearchExperiment : IExperiment<ActivationSearchOutput>
{
    public const string Bilevel = "bilevel";
    /// <summary>The <c>bilevel</c> strategy with <c>--order implicit</c>: the same search, the implicit-function hypergradient.</summary>
    public const string BilevelImplicit = "bilevel-implicit";
    /// <summary>The <c>bilevel</c> strategy with <c>--calibrate-upper</c>: α judged by the temperature-calibrated validation loss.</summary>
    public const string BilevelCalibrated = "bilevel-calibrated";
    /// <summary>The <c>bilevel</c> strategy with <c>--order implicit --calibrate-upper</c>.</summary>
    public const string BilevelImplicitCalibrated = "bilevel-implicit-calibrated";
    public const string Mkl = "mkl";
    public const string Spectral = "spectral";
    public const string Eigen = "eigen";
    public const string TrainingLoss = "training-loss";
    /// <summary>Not a method: the architecture of the best mean validation accuracy after full training (the exhaustive validation choice).</summary>
    public const string ValidationOracle = "trained-validation";
    public static IReadOnlyList<string> Methods { get; } = [Bilevel, BilevelImplicit, BilevelCalibrated, BilevelImplicitCalibrated, Mkl, Spectral, Eigen, TrainingLoss];

    /// <summary>The target's tolerance: a pick within this many points of the best mean test accuracy counts as found.</summary>
    public const double TolerancePoints = 0.5;

    /// <summary>The largest number of architectures the ground truth trains exhaustively.</summary>
    public const int MaxCandidates = 256;

    private readonly ISearchSpace space;
    private readonly IReadOnlyList<ExperimentData> data;
    private readonly ActivationSearchConfig config;

    public ActivationSearchExperiment(ISearchSpace space, IReadOnlyList<ExperimentData> data, int truthSeeds, int searchSeeds, TrainingOptions training,
        NetworkOptions network, IReadOnlyList<int> valPoints, BilevelOptions bilevel, MklOptions mkl, SpectralOptions spectral, EigenSearchOptions eigen, long seed)
    {
        this.space = space ?? throw new ArgumentNullException(nameof(space));
        this.data = data ?? throw new ArgumentNullException(nameof(data));
        ArgumentNullException.ThrowIfNull(eigen);
        // eigen scores every architecture and trains none: the ground truth already holds their training.
        config = new ActivationSearchConfig(SpaceSpec.Of(space), [.. data.Select(d => d.Spec)], truthSeeds, searchSeeds, training, network,
            [.. valPoints.Distinct().Order()], bilevel, mkl, spectral, eigen with { Candidates = (int)BigInteger.Min(space.Count, MaxCandidates + 1), TopK = 0 });
        Seed = seed;
    }

    public ExperimentKind Kind => ExperimentKind.ActivationSearch;
    public object Config => config;
    public long Seed { get; }

    public void Validate()
    {
        if (data.Count == 0) throw new SettingException("--datasets: give at least one dataset.");
        if (data.Select(d => d.Name).Distinct().Count() != data.Count) throw new SettingException("--datasets: a dataset is named twice.");
        if (config.TruthSeeds < 1) throw new SettingException($"--truth-seeds {config.TruthSeeds}: need at least one.");
        if (config.SearchSeeds < 1) throw new SettingException($"--search-seeds {config.SearchSeeds}: need at least one.");
        if (config.ValPoints.Count == 0 || config.ValPoints.Any(n => n < 1)) throw new SettingException("--val-points: give positive validation sizes, e.g. 16,64,256.");
        config.Training.Validate();
        if (space.Relaxation is null || space is not IAnalyticNtkSpace)
            throw new SettingException($"bench activations searches the discrete architectures of a relaxation with analytic kernels; the {space.SpaceName} space has none (mlp has).");
        if (space.Count > MaxCandidates)
            throw new SettingException($"bench activations trains every architecture of the space, and it has {space.Count:N0}; at most {MaxCandidates} " +
                "(for mlp: fewer layers or activations, and --no-skips).");
        foreach (var d in data)
            foreach (var strategy in Strategies(config.ValPoints[^1]).Select(s => s.Strategy))
                strategy.Validate(space, d);
    }

    /// <summary>Each method's strategy at validation size <paramref name="valPoints"/>, and whether it reads the validation sample.</summary>
    private IReadOnlyList<(string Method, ISearchStrategy Strategy, bool UsesValidation)> Strategies(int valPoints) =>
    [
        (Bilevel, new BilevelStrategy(config.Bilevel with { ValPoints = valPoints, Upper = UpperSplit.Validation }), true),
        (BilevelImplicit, new BilevelStrategy(config.Bilevel with { ValPoints = valPoints, Upper = UpperSplit.Validation, Order = HypergradientOrder.Implicit }), true),
        (BilevelCalibrated, new BilevelStrategy(config.Bilevel with { ValPoints = valPoints, Upper = UpperSplit.Validation, CalibrateUpper = true }), true),
        (BilevelImplicitCalibrated, new BilevelStrategy(config.Bilevel with
        {
            ValPoints = valPoints, Upper = UpperSplit.Validation, Order = HypergradientOrder.Implicit, CalibrateUpper = true,
        }), true),
        (Mkl, new MklStrategy(config.Mkl with { ValPoints = valPoints }), true),
        (Spectral, new SpectralStrategy(config.Spectral with { ValPoints = valPoints }), true),
        (Eigen, new EigenSearch(config.Eigen), false),
        (TrainingLoss, new BilevelStrategy(config.Bilevel with { ValPoints = 1, Upper = UpperSplit.Training }), false),
    ];

    public ActivationSearchOutput Run(ExperimentContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Validate();
        var clock = Stopwatch.StartNew();
        var candidates = space.Relaxation!.DiscreteArchitectures();
        var truth = new List<(string Dataset, int TruthSeed, TruthEntry Entry)>();
        var picks = new List<ActivationPick>();
        foreach (var d in data)
        {
            for (int s = 0; s < config.TruthSeeds; s++)
            {
                long truthSeed = Seeds.Derive(Seed, "truth-seed", s);
                for (int i = 0; i < candidates.Count; i++)
                {
                    context.Cancellation.ThrowIfCancellationRequested();
                    var key = $"truth/{d.Name}/{s}/{i}";
                    if (!context.Journal.TryFind<TruthEntry>(key, out var entry))
                    {
                        entry = ArchitectureTrainer.Train(space, candidates[i], i, d, config.Network, config.Training, truthSeed, context.Device, context.Cancellation);
                        context.Journal.Record(key, entry, entry.Arch, space.SpaceName);
                    }
                    else if (entry.Arch != candidates[i].Canonical)
                        throw new InvalidOperationException($"The stored item '{key}' is {entry.Arch}, not {candidates[i].Canonical}: the stored run was made under another configuration.");
                    truth.Add((d.Name, s, entry));
                    context.Report($"training {d.Name}", s * candidates.Count + i + 1, config.TruthSeeds * candidates.Count, candidates[i].Canonical);
                }
            }
            var items = Enumerable.Range(0, config.SearchSeeds).SelectMany(k => config.ValPoints.SelectMany(n =>
                Strategies(n).Where(x => x.UsesValidation || n == config.ValPoints[0]).Select(x => (k, n: x.UsesValidation ? n : 0, x.Method, x.Strategy)))).ToList();
            foreach (var (item, done) in items.Select((x, i) => (x, i + 1)))
            {
                context.Cancellation.ThrowIfCancellationRequested();
                var key = $"pick/{d.Name}/{item.Method}/{item.n}/{item.k}";
                if (!context.Journal.TryFind<ActivationPick>(key, out var pick))
                {
                    var timer = Stopwatch.StartNew();
                    var search = new SearchContext(space, d, Seeds.Derive(Seed, "search-seed", item.k)) { Device = context.Device, Cancellation = context.Cancellation };
                    var outcome = item.Strategy.Run(search);
                    pick = new ActivationPick(d.Name, item.Method, item.n, item.k, outcome.Arch, outcome.NoArchReason, timer.Elapsed.TotalSeconds);
                    context.Journal.Record(key, pick, pick.Arch, space.SpaceName);
                }
                picks.Add(pick);
                context.Report($"searching {d.Name}", done, items.Count, $"{item.Method} n_V = {item.n}");
            }
        }
        return Summarise(config, space.SpaceName, candidates.Count, truth, picks, context.RunId, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The ground truth per architecture, each method's picks with their mean test accuracy and gap, and the smallest good n_V.</summary>
    public static ActivationSearchOutput Summarise(ActivationSearchConfig config, string spaceName, int candidates,
        IReadOnlyList<(string Dataset, int TruthSeed, TruthEntry Entry)> truth, IReadOnlyList<ActivationPick> picks, long? runId, double seconds)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(truth);
        ArgumentNullException.ThrowIfNull(picks);
        var datasets = config.Data.Select(d => d.Dataset).ToList();
        var truthRows = new List<ActivationTruthRow>();
        var best = new Dictionary<string, string>();
        var bestAccuracy = new Dictionary<string, double>();
        var methods = new List<ActivationMethodRow>();
        var degradation = new List<ActivationDegradation>();
        foreach (var dataset in datasets)
        {
            var rows = truth.Where(t => t.Dataset == dataset).GroupBy(t => t.Entry.Arch).Select(g =>
            {
                var test = g.OrderBy(t => t.TruthSeed).Select(t => t.Entry.TestAccuracyPercent).ToList();
                var finite = test.Where(a => a is not null).Select(a => a!.Value).ToList();
                var validation = g.Select(t => t.Entry.ValidationAccuracyPercent).Where(a => a is not null).Select(a => a!.Value).ToList();
                // A diverged seed leaves the architecture without a ground truth rather than with the mean of the others.
                bool complete = finite.Count == test.Count && finite.Count > 0;
                var stat = complete ? MeanStd.Of(finite) : null;
                return new ActivationTruthRow(dataset, g.Key, test, stat?.Mean, stat?.Std,
                    complete && validation.Count == test.Count ? validation.Average() : null, g.Count(t => t.Entry.Diverged));
            }).OrderByDescending(r => r.MeanTestAccuracyPercent ?? double.NegativeInfinity).ThenBy(r => r.Arch, StringComparer.Ordinal).ToList();
            truthRows.AddRange(rows);
            if (rows.Count == 0 || rows[0].MeanTestAccuracyPercent is not { } top) continue;
            best[dataset] = rows[0].Arch;
            bestAccuracy[dataset] = top;
            var mean = rows.Where(r => r.MeanTestAccuracyPercent is not null).ToDictionary(r => r.Arch, r => r.MeanTestAccuracyPercent!.Value);
            var byValidation = rows.Where(r => r.MeanValidationAccuracyPercent is not null).OrderByDescending(r => r.MeanValidationAccuracyPercent).FirstOrDefault();
            if (byValidation is not null)
                methods.Add(new ActivationMethodRow(dataset, ValidationOracle, 0, [byValidation.Arch], byValidation.MeanTestAccuracyPercent, top - byValidation.MeanTestAccuracyPercent));
            foreach (var method in Methods)
            {
                var mine = picks.Where(p => p.Dataset == dataset && p.Method == method).ToList();
                var sizes = mine.Select(p => p.ValPoints).Distinct().Order().ToList();
                var sweep = new List<ActivationMethodRow>();
                foreach (var n in sizes)
                {
                    var chosen = mine.Where(p => p.ValPoints == n).OrderBy(p => p.SearchSeed).Select(p => p.Arch).ToList();
                    // A pick without a ground truth (none made, or a diverged architecture) leaves the row without an accuracy.
                    double? accuracy = chosen.All(a => a is not null && mean.ContainsKey(a)) ? chosen.Average(a => mean[a!]) : null;
                    sweep.Add(new ActivationMethodRow(dataset, method, n, chosen, accuracy, top - accuracy));
                }
                methods.AddRange(sweep);
                if (sweep.Count == 0) continue;
                bool Within(ActivationMethodRow r) => r.GapPoints is { } g && g <= TolerancePoints + 1e-9;
                int firstGood = sweep.Count;
                while (firstGood > 0 && Within(sweep[firstGood - 1])) firstGood--;
                degradation.Add(new ActivationDegradation(dataset, method, firstGood < sweep.Count ? sweep[firstGood].ValPoints : null, Within(sweep[^1])));
            }
        }
        return new ActivationSearchOutput(runId, spaceName, candidates, datasets, config.TruthSeeds, config.SearchSeeds, config.Training.Epochs, TolerancePoints,
            best, bestAccuracy, truthRows, methods, degradation, seconds);
    }
}
