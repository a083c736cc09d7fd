using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Proxies;

/// <summary>One proxy's score in an evaluation, and the seconds spent in it beyond the shared stages.</summary>
public sealed record ProxyResult(string Name, ProxyScore Score, double Seconds);

/// <summary>The scores of one architecture, with timings.</summary>
/// <param name="Seed">The evaluation's seed (the network factory's and meco's).</param>
/// <param name="Results">Per proxy, in the evaluator's order; <see cref="ProxyResult.Seconds"/> excludes shared stages.</param>
/// <param name="SharedStages">Computations done once for several proxies (building the network, the train-mode pass,
/// the empirical NTK), in the order they ran.</param>
/// <param name="TotalSeconds">Wall time of the whole evaluation.</param>
public sealed record ProxyEvaluation(long Seed, IReadOnlyList<ProxyResult> Results, IReadOnlyList<SharedStage> SharedStages, double TotalSeconds)
{
    public ProxyScore this[string name] =>
        Results.FirstOrDefault(r => r.Name == name)?.Score
        ?? throw new KeyNotFoundException($"No proxy '{name}' in this evaluation; it has {string.Join(", ", Results.Select(r => r.Name))}.");
}

/// <summary>
/// Computes a list of proxies for one architecture, sharing work between them: one network (plus one copy per
/// destructive proxy), one train-mode forward/backward for every proxy that reads loss gradients or input gradients or
/// observes the pass (<see cref="ProxyRequirements.Observes"/>: Fisher's terms, NASWOT's ReLU codes), and one empirical
/// NTK for the NTK proxies. Each evaluation runs in its own dispose scope,
/// so nothing it allocates outlives it.
/// </summary>
public sealed class ProxyEvaluator
{
    private readonly IProxy[] proxies;
    private readonly SharedComputation plan;
    private readonly TrainPassProbe[] probes;

    public ProxyEvaluator(IEnumerable<IProxy> proxies)
    {
        ArgumentNullException.ThrowIfNull(proxies);
        this.proxies = proxies.ToArray();
        if (this.proxies.Length == 0) throw new ArgumentException("Give at least one proxy.", nameof(proxies));
        var duplicate = this.proxies.GroupBy(p => p.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"Proxy '{duplicate.Key}' is listed twice.", nameof(proxies));
        plan = this.proxies.Aggregate(SharedComputation.None, (s, p) => s | p.Requirements.Shares);
        probes = this.proxies.Select(p => p.Requirements.Observes).OfType<TrainPassProbe>().ToArray();
        NeedsLabels = this.proxies.Any(p => p.Requirements.NeedsLabels);
    }

    public IReadOnlyList<IProxy> Proxies => proxies;

    /// <summary>True when some proxy needs labels.</summary>
    public bool NeedsLabels { get; }

    /// <summary>Scores one architecture. See <see cref="ProxyContext"/> for the arguments.</summary>
    public ProxyEvaluation Evaluate(Func<nn.Module<Tensor, Tensor>> buildNetwork, Tensor inputs, Tensor? labels, int classes, long seed) =>
        Evaluate(labels, seed, () => new ProxyContext(buildNetwork, inputs, labels, classes, seed, plan, probes));

    /// <summary>Scores one architecture built by <paramref name="buildNetwork"/>(<paramref name="seed"/>), whose other seeds
    /// give the other initialisations a proxy may average over.</summary>
    public ProxyEvaluation Evaluate(Func<long, nn.Module<Tensor, Tensor>> buildNetwork, Tensor inputs, Tensor? labels, int classes, long seed) =>
        Evaluate(labels, seed, () => new ProxyContext(buildNetwork, inputs, labels, classes, seed, plan, probes));

    private ProxyEvaluation Evaluate(Tensor? labels, long seed, Func<ProxyContext> createContext)
    {
        if (NeedsLabels && labels is null)
            throw new ArgumentException(
                $"{string.Join(", ", proxies.Where(p => p.Requirements.NeedsLabels).Select(p => p.Name))} need labels; pass the batch's labels.",
                nameof(labels));
        var total = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        using var context = createContext();
        var results = new List<ProxyResult>(proxies.Length);
        foreach (var proxy in proxies)
        {
            int stagesBefore = context.Stages.Count;
            var watch = Stopwatch.StartNew();
            ProxyScore score;
            using (NewDisposeScope())
                score = proxy.Score(context);
            double shared = context.Stages.Skip(stagesBefore).Sum(s => s.Seconds);
            results.Add(new ProxyResult(proxy.Name, score, Math.Max(0, watch.Elapsed.TotalSeconds - shared)));
        }
        return new ProxyEvaluation(seed, results, context.Stages.ToArray(), total.Elapsed.TotalSeconds);
    }
}
