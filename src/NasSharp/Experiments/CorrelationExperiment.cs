using NasSharp.Benchmarks;
using NasSharp.Data;
using NasSharp.Networks;
using NasSharp.Proxies;
using NasSharp.Spaces;
using NasSharp.Store;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Experiments;

/// <summary>A correlation run's configuration. <paramref name="TruthRun"/> is the stored truth run used as ground truth, if any.</summary>
public sealed record CorrelationConfig(SpaceSpec Space, DataSpec Data, int N, IReadOnlyList<string> Proxies, int Batch,
    IReadOnlyList<string> Targets, long? TruthRun);

/// <summary>
/// Every proxy on one architecture built for one target (the class count is the target's): scores (NaN, written as
/// null, where not finite, with the reason), each proxy's own seconds and the shared stages' seconds.
/// </summary>
public sealed record ProxyEvaluationRecord(int Index, string Arch, string Target, double AccuracyPercent,
    IReadOnlyDictionary<string, double> Scores, IReadOnlyDictionary<string, string> Reasons, IReadOnlyDictionary<string, double> Seconds,
    IReadOnlyDictionary<string, double> SharedSeconds, double TotalSeconds);

/// <param name="BestOf100">The target's expected value for the proxy's pick among 100 uniformly sampled architectures
/// (<see cref="CorrelationTable.BestOf"/>; exact, <see cref="Stats.BestOfK"/>).</param>
/// <param name="UndefinedReason">Why τ and ρ are not numbers (null when they are).</param>
public sealed record Agreement(double Kendall, double Spearman,
    [property: System.Text.Json.Serialization.JsonPropertyName("top_10")] double Top10,
    [property: System.Text.Json.Serialization.JsonPropertyName("best_of_100")] double BestOf100,
    string? UndefinedReason = null)
{
    public static Agreement Of(ProxyAgreement a, int architectures) => new(a.Kendall, a.Spearman, a.TopOverlap, a.BestOf,
        double.IsFinite(a.Kendall) && double.IsFinite(a.Spearman) ? null
        : architectures < 2 ? "fewer than two architectures have this target"
        : "the scores or the accuracies do not vary, so a rank correlation is undefined");
}

/// <summary>A proxy's agreement per target, its non-finite count, its own seconds per architecture, and published figures.</summary>
public sealed record ProxyOutput(IReadOnlyDictionary<string, Agreement> Targets, int NonFinite, double SecondsPerArch, PublishedFigure? Published);

/// <summary>
/// What <c>nas bench correlate</c> reports: per proxy and target Kendall τ, Spearman ρ, top-10% overlap and best-of-100,
/// per target the mean (a random pick) and the oracle best-of-100 that the proxies' best-of-100 lie between.
/// </summary>
public sealed record CorrelationOutput(long? RunId, bool Resumed, string Space, string Dataset, int N, long Seed, int Batch, InputKind Inputs, LabelKind Labels,
    string GroundTruth, IReadOnlyDictionary<string, ProxyOutput> Proxies, IReadOnlyDictionary<string, TargetReference> References,
    IReadOnlyDictionary<string, double> SharedSecondsPerArch);

/// <summary>
/// Rank correlation of zero-cost proxies with trained accuracy (<see cref="ExperimentKind.Correlate"/>): N architectures
/// sampled from the space and looked up in the ground truth, every proxy at initialisation on one fixed batch, once per target; each
/// evaluation is journaled as it finishes (key <c>arch/i/target</c>), so an interrupted run resumes where it stopped.
/// </summary>
public sealed class CorrelationExperiment : IExperiment<CorrelationOutput>
{
    private readonly ISearchSpace space;
    private readonly ExperimentData data;
    private readonly IGroundTruth truth;
    private readonly IReadOnlyList<IProxy> proxies;
    private readonly IReadOnlyList<ProxyAggregate> aggregates;
    private readonly IReadOnlyList<GroundTruthTarget> targets;
    private readonly int n;
    private readonly int batch;

    public CorrelationExperiment(ISearchSpace space, ExperimentData data, IGroundTruth truth, IReadOnlyList<IProxy> proxies, int n, int batch, long seed,
        IReadOnlyList<string>? targets = null, long? truthRun = null, IReadOnlyList<ProxyAggregate>? aggregates = null)
    {
        this.space = space ?? throw new ArgumentNullException(nameof(space));
        this.data = data ?? throw new ArgumentNullException(nameof(data));
        this.truth = truth ?? throw new ArgumentNullException(nameof(truth));
        this.proxies = proxies;
        if (proxies.Count == 0) throw new SettingException("--proxies: give at least one proxy.");
        this.aggregates = aggregates ?? [];
        var missing = this.aggregates.SelectMany(a => a.Components.Where(c => proxies.All(p => p.Name != c)).Select(c => $"{a.Name} needs {c}")).FirstOrDefault();
        if (missing is not null) throw new SettingException($"--proxies: {missing}; list it too.");
        if (n < 2) throw new SettingException($"--n {n}: must be at least 2.");
        if (n > truth.Entries.Count) throw new SettingException($"--n {n}: the ground truth ({truth.Source}) has {truth.Entries.Count} architectures.");
        if (batch < 2) throw new SettingException($"--batch {batch}: must be at least 2.");
        this.targets = targets is null ? truth.Targets
            : [.. targets.Select(t => truth.Targets.FirstOrDefault(x => x.Name == t)
                ?? throw new SettingException($"--targets: unknown '{t}'; the ground truth has {string.Join(", ", truth.Targets.Select(x => x.Name))}."))];
        (this.n, this.batch, Seed) = (n, batch, seed);
        Config = new CorrelationConfig(SpaceSpec.Of(space), data.Spec, n, [.. proxies.Select(p => p.Name), .. this.aggregates.Select(a => a.Name)], batch, [.. this.targets.Select(t => t.Name)], truthRun);
    }

    public ExperimentKind Kind => ExperimentKind.Correlate;
    public object Config { get; }
    public long Seed { get; }

    public CorrelationOutput Run(ExperimentContext context)
    {
        var sampled = truth.Sample(n, Seeds.Rng(Seed, "correlate-sample"));
        var items = sampled.SelectMany((item, index) => targets.Select(target => (item, index, target))).ToList();
        int done = 0, total = items.Count;
        // Items still to compute: not journaled before (a resumed run) and with an accuracy for the target.
        var pending = new List<(string Key, CorrelationItem Item)>();
        foreach (var (item, index, target) in items)
        {
            string key = ItemKey(index, target.Name);
            if (!context.Journal.TryFind<ProxyEvaluationRecord>(key, out _) && item.TestAccuracyPercent.TryGetValue(target.Name, out var accuracy))
                pending.Add((key, new CorrelationItem(index, item.Arch.Canonical, target.Name, target.Classes, accuracy)));
            else context.Report("evaluations", ++done, total, item.Arch.Canonical);
        }
        if (context.Dispatcher is { } dispatcher)
            dispatcher.JournalResults<CorrelationItem, ProxyEvaluationRecord>(context, new DispatchedExperiment(Kind, NasJson.Serialize(Config), Seed),
                pending, r => r.Arch, space.SpaceName, "evaluations", done, total);
        else
        {
            using var scorer = new CorrelationScorer(space, data, proxies, batch, Seed, context.Device);
            foreach (var (key, item) in pending)
            {
                context.Cancellation.ThrowIfCancellationRequested();
                context.Journal.Record(key, scorer.Score(item), item.Arch, space.SpaceName);
                context.Report("evaluations", ++done, total, item.Arch);
            }
        }
        // In item order, whatever order they were computed in, so the summary's sums are the same on one machine or many.
        var order = items.Select((x, i) => (Key: ItemKey(x.index, x.target.Name), i)).ToDictionary(x => x.Key, x => x.i);
        var records = context.Journal.All<ProxyEvaluationRecord>("arch/").OrderBy(r => order.GetValueOrDefault(r.Key, int.MaxValue)).Select(r => r.Value).ToList();
        return Summarise(records, context);
    }

    private static string ItemKey(int index, string target) => $"arch/{index}/{target}";

    /// <summary>A correlation run's evaluations as scored architectures: each one's scores and its target's accuracy.</summary>
    public static IReadOnlyList<ScoredArchitecture> Scored(IEnumerable<ProxyEvaluationRecord> records) =>
        [.. records.Select(r => new ScoredArchitecture(r.Arch, r.Scores, new Dictionary<string, double> { [r.Target] = r.AccuracyPercent }))];

    /// <summary>
    /// The records with each aggregate's score added, computed over the architectures of the same target (the set a
    /// correlation with that target ranks).
    /// </summary>
    public static IReadOnlyList<ProxyEvaluationRecord> WithAggregates(IReadOnlyList<ProxyEvaluationRecord> records, IReadOnlyList<ProxyAggregate> aggregates)
    {
        if (aggregates.Count == 0) return records;
        var result = new List<ProxyEvaluationRecord>(records.Count);
        foreach (var group in records.GroupBy(r => r.Target))
        {
            var set = group.ToList();
            var scores = set.Select(r => new Dictionary<string, double>(r.Scores)).ToList();
            foreach (var aggregate in aggregates)
            {
                var values = aggregate.Score(set.Select(r => r.Scores).ToList());
                for (int a = 0; a < set.Count; a++) scores[a][aggregate.Name] = values[a];
            }
            result.AddRange(set.Select((r, a) => r with { Scores = scores[a] }));
        }
        return result;
    }

    private CorrelationOutput Summarise(IReadOnlyList<ProxyEvaluationRecord> records, ExperimentContext context)
    {
        var items = Scored(WithAggregates(records, aggregates));
        var names = targets.Select(t => t.Name).ToList();
        var table = CorrelationTable.Compute(items, [.. proxies.Select(p => p.Name), .. aggregates.Select(a => a.Name)], names);
        double PerArch(Func<ProxyEvaluationRecord, double> seconds) => records.Sum(seconds) / Math.Max(1, n);
        // An aggregate costs its components' seconds (ranking N numbers is free beside them).
        IReadOnlyList<string> Parts(string name) => aggregates.FirstOrDefault(a => a.Name == name)?.Components ?? [name];
        var output = table.ToDictionary(c => c.Proxy, c => new ProxyOutput(
            c.Targets.ToDictionary(kv => kv.Key, kv => Agreement.Of(kv.Value, records.Count(r => r.Target == kv.Key))),
            c.NonFinite, PerArch(r => Parts(c.Proxy).Sum(p => r.Seconds.GetValueOrDefault(p))), truth.PublishedCorrelations.GetValueOrDefault(c.Proxy)));
        var shared = records.SelectMany(r => r.SharedSeconds.Keys).Distinct().ToDictionary(k => k, k => PerArch(r => r.SharedSeconds.GetValueOrDefault(k)));
        return new CorrelationOutput(context.RunId, context.Resumed, space.SpaceName, data.Name, n, Seed, batch, data.Spec.Inputs, data.Spec.Labels,
            truth.Source, output, CorrelationTable.References(items, names), shared);
    }
}

/// <summary>One evaluation of a correlation run: the sampled architecture <paramref name="Index"/> built for one target (with
/// its class count) and the target's trained accuracy.</summary>
public sealed record CorrelationItem(int Index, string Arch, string Target, int Classes, double AccuracyPercent);

/// <summary>
/// Scores a correlation run's items: every proxy at initialisation on the run's one fixed batch. It is made from the run's
/// configuration alone (space, data, proxies, batch, seed), so a cluster's worker computes exactly the record the run's own
/// process would.
/// </summary>
public sealed class CorrelationScorer : IDisposable
{
    private readonly ISearchSpace space;
    private readonly ProxyEvaluator evaluator;
    private readonly IReadOnlyList<int> sampleShape;
    private readonly long seed;
    private readonly Device device;
    private readonly torch.Tensor x;
    private readonly torch.Tensor y;
    private readonly NetworkOptions network = new();

    public CorrelationScorer(ISearchSpace space, ExperimentData data, IReadOnlyList<IProxy> proxies, int batch, long seed, Device device)
    {
        ArgumentNullException.ThrowIfNull(data);
        this.space = space ?? throw new ArgumentNullException(nameof(space));
        evaluator = new ProxyEvaluator(proxies);
        (this.seed, this.device) = (seed, device);
        // One fixed batch for every architecture and target.
        var fixedBatch = data.Batches().Fixed(batch, Seeds.Derive(seed, "correlate-batch"));
        sampleShape = fixedBatch.SampleShape;
        using var scope = torch.NewDisposeScope();
        var (inputs, labels) = fixedBatch.ToTensors(device);
        (x, y) = (inputs.DetachFromDisposeScope(), labels.DetachFromDisposeScope());
    }

    /// <summary>A correlation run's scorer made from its stored configuration, reading data from <paramref name="dataDirectory"/>.</summary>
    public static CorrelationScorer FromConfig(CorrelationConfig config, long seed, string dataDirectory, SpaceRegistry spaces, Device device)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(spaces);
        var space = spaces.Recreate(config.Space.Name, config.Space.Settings);
        var data = new ExperimentData(config.Data, dataDirectory, seed);
        // The configuration lists aggregates beside proxies; an aggregate is computed over the whole sample, not per item.
        var proxies = config.Proxies.Where(name => ProxyAggregates.Find(name) is null);
        return new CorrelationScorer(space, data, ProxyRegistry.Parse(string.Join(",", proxies)), config.Batch, seed, device);
    }

    public ProxyEvaluationRecord Score(CorrelationItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        var arch = space.Parse(item.Arch);
        // The same initial weights for every target (up to the classifier's shape).
        long netSeed = Seeds.Derive(seed, "proxy-init", arch.Canonical);
        ProxyEvaluation e;
        using (torch.NewDisposeScope())
            e = evaluator.Evaluate(s => space.BuildNetwork(arch, sampleShape, item.Classes, network, s, device), x, y, item.Classes, netSeed);
        // The evaluation's tensors are freed: return their pages, so the resident set does not grow with the number of cells.
        ResidentMemory.TrimNativeHeap();
        return new(item.Index, arch.Canonical, item.Target, item.AccuracyPercent,
            // Non-finite and not-applicable scores are kept as NaN with their reason, never as a sentinel.
            e.Results.ToDictionary(r => r.Name, r => r.Score.IsFinite ? r.Score.Value : double.NaN),
            e.Results.Where(r => !r.Score.IsFinite).ToDictionary(r => r.Name, r => r.Score.Reason ?? "not finite"),
            e.Results.ToDictionary(r => r.Name, r => r.Seconds),
            e.SharedStages.GroupBy(s => s.Name).ToDictionary(g => g.Key, g => g.Sum(s => s.Seconds)),
            e.TotalSeconds);
    }

    public void Dispose()
    {
        x.Dispose();
        y.Dispose();
    }
}
