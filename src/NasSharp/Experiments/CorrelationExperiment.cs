using NasSharp.Benchmarks;
using NasSharp.Data;
using NasSharp.Networks;
using NasSharp.Proxies;
using NasSharp.Spaces;
using TorchSharp;

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
    private readonly IReadOnlyList<GroundTruthTarget> targets;
    private readonly int n;
    private readonly int batch;

    public CorrelationExperiment(ISearchSpace space, ExperimentData data, IGroundTruth truth, IReadOnlyList<IProxy> proxies, int n, int batch, long seed,
        IReadOnlyList<string>? targets = null, long? truthRun = null)
    {
        this.space = space ?? throw new ArgumentNullException(nameof(space));
        this.data = data ?? throw new ArgumentNullException(nameof(data));
        this.truth = truth ?? throw new ArgumentNullException(nameof(truth));
        this.proxies = proxies;
        if (proxies.Count == 0) throw new SettingException("--proxies: give at least one proxy.");
        if (n < 2) throw new SettingException($"--n {n}: must be at least 2.");
        if (n > truth.Entries.Count) throw new SettingException($"--n {n}: the ground truth ({truth.Source}) has {truth.Entries.Count} architectures.");
        if (batch < 2) throw new SettingException($"--batch {batch}: must be at least 2.");
        this.targets = targets is null ? truth.Targets
            : [.. targets.Select(t => truth.Targets.FirstOrDefault(x => x.Name == t)
                ?? throw new SettingException($"--targets: unknown '{t}'; the ground truth has {string.Join(", ", truth.Targets.Select(x => x.Name))}."))];
        (this.n, this.batch, Seed) = (n, batch, seed);
        Config = new CorrelationConfig(SpaceSpec.Of(space), data.Spec, n, [.. proxies.Select(p => p.Name)], batch, [.. this.targets.Select(t => t.Name)], truthRun);
    }

    public ExperimentKind Kind => ExperimentKind.Correlate;
    public object Config { get; }
    public long Seed { get; }

    public CorrelationOutput Run(ExperimentContext context)
    {
        var items = truth.Sample(n, Seeds.Rng(Seed, "correlate-sample"));
        // One fixed batch for every architecture and target.
        var fixedBatch = data.Batches().Fixed(batch, Seeds.Derive(Seed, "correlate-batch"));
        var evaluator = new ProxyEvaluator(proxies);
        var network = new NetworkOptions();
        using (var scope = torch.NewDisposeScope())
        {
            var (x, y) = fixedBatch.ToTensors(context.Device);
            int done = 0, total = items.Count * targets.Count;
            foreach (var (item, index) in items.Select((item, index) => (item, index)))
                foreach (var target in targets)
                {
                    context.Cancellation.ThrowIfCancellationRequested();
                    string key = $"arch/{index}/{target.Name}";
                    if (!context.Journal.TryFind<ProxyEvaluationRecord>(key, out _) && item.TestAccuracyPercent.TryGetValue(target.Name, out var accuracy))
                    {
                        // The same initial weights for every target (up to the classifier's shape).
                        long netSeed = Seeds.Derive(Seed, "proxy-init", item.Arch.Canonical);
                        using var itemScope = torch.NewDisposeScope();
                        var evaluation = evaluator.Evaluate(() => space.BuildNetwork(item.Arch, fixedBatch.SampleShape, target.Classes, network, netSeed, context.Device),
                            x, y, target.Classes, netSeed);
                        context.Journal.Record(key, Record(index, item.Arch.Canonical, target.Name, accuracy, evaluation), item.Arch.Canonical, space.SpaceName);
                    }
                    context.Report("evaluations", ++done, total, item.Arch.Canonical);
                }
        }
        return Summarise(context.Journal.All<ProxyEvaluationRecord>("arch/").Select(r => r.Value).ToList(), context);
    }

    private static ProxyEvaluationRecord Record(int index, string arch, string target, double accuracy, ProxyEvaluation e) => new(
        index, arch, target, accuracy,
        // Non-finite and not-applicable scores are kept as NaN with their reason, never as a sentinel.
        e.Results.ToDictionary(r => r.Name, r => r.Score.IsFinite ? r.Score.Value : double.NaN),
        e.Results.Where(r => !r.Score.IsFinite).ToDictionary(r => r.Name, r => r.Score.Reason ?? "not finite"),
        e.Results.ToDictionary(r => r.Name, r => r.Seconds),
        e.SharedStages.GroupBy(s => s.Name).ToDictionary(g => g.Key, g => g.Sum(s => s.Seconds)),
        e.TotalSeconds);

    /// <summary>A correlation run's evaluations as scored architectures: each one's scores and its target's accuracy.</summary>
    public static IReadOnlyList<ScoredArchitecture> Scored(IEnumerable<ProxyEvaluationRecord> records) =>
        [.. records.Select(r => new ScoredArchitecture(r.Arch, r.Scores, new Dictionary<string, double> { [r.Target] = r.AccuracyPercent }))];

    private CorrelationOutput Summarise(IReadOnlyList<ProxyEvaluationRecord> records, ExperimentContext context)
    {
        var items = Scored(records);
        var names = targets.Select(t => t.Name).ToList();
        var table = CorrelationTable.Compute(items, [.. proxies.Select(p => p.Name)], names);
        double PerArch(Func<ProxyEvaluationRecord, double> seconds) => records.Sum(seconds) / Math.Max(1, n);
        var output = table.ToDictionary(c => c.Proxy, c => new ProxyOutput(
            c.Targets.ToDictionary(kv => kv.Key, kv => Agreement.Of(kv.Value, records.Count(r => r.Target == kv.Key))),
            c.NonFinite, PerArch(r => r.Seconds.GetValueOrDefault(c.Proxy)), truth.PublishedCorrelations.GetValueOrDefault(c.Proxy)));
        var shared = records.SelectMany(r => r.SharedSeconds.Keys).Distinct().ToDictionary(k => k, k => PerArch(r => r.SharedSeconds.GetValueOrDefault(k)));
        return new CorrelationOutput(context.RunId, context.Resumed, space.SpaceName, data.Name, n, Seed, batch, data.Spec.Inputs, data.Spec.Labels,
            truth.Source, output, CorrelationTable.References(items, names), shared);
    }
}
