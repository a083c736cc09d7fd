using System.Diagnostics;
using System.Text.Json.Serialization;
using NasSharp.Data;
using NasSharp.Networks;
using NasSharp.Proxies;
using NasSharp.Spaces;
using NasSharp.Training;
using static TorchSharp.torch;

namespace NasSharp.Search;

public sealed record ProxySearchOptions
{
    /// <summary>The registered proxy candidates are ranked by (<see cref="ProxyRegistry"/>), or an aggregate of proxies over
    /// the candidates (<see cref="ProxyAggregates"/>, e.g. <c>az_nas</c>).</summary>
    public string Proxy { get; init; } = "naswot";
    /// <summary>K sampled candidates (NASWOT's search samples 100 or 1000).</summary>
    public int Candidates { get; init; } = 100;
    /// <summary>The candidates themselves (genotypes in the space's notation), scored instead of <see cref="Candidates"/>
    /// sampled ones: a shortlist of the user's, or architectures whose trained accuracies are known. Absent from the run's
    /// configuration when not given, so the configurations (and run keys) of sampled searches are unchanged.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Architectures { get; init; }

    /// <summary>How many candidates the search scores.</summary>
    [JsonIgnore]
    public int CandidateCount => Architectures?.Count ?? Candidates;
    /// <summary>The best-ranked candidates trained before choosing on validation accuracy; 0 keeps the best score.</summary>
    public int TopK { get; init; }
    /// <summary>Samples of the one batch every candidate is scored on.</summary>
    public int Batch { get; init; } = 64;
    /// <summary>Evaluations averaged per candidate, each on its own batch and initialisation (the first is the search's one
    /// batch and the genotype's one initialisation, so 1 is the single evaluation).</summary>
    public int Seeds { get; init; } = 1;
    /// <summary>Candidates are scored and trained in this parameterisation.</summary>
    public NetworkOptions Network { get; init; } = new();
    public TrainingOptions Training { get; init; } = new() { Epochs = 2 };

    public void Validate()
    {
        if (ProxyAggregates.Find(Proxy) is null) ProxyRegistry.Get(Proxy);
        if (Candidates < 1) throw new SettingException($"--candidates {Candidates}: need at least one candidate.");
        if (Architectures is { Count: 0 }) throw new SettingException("--archs: the list has no architecture.");
        if (TopK < 0 || TopK > CandidateCount) throw new SettingException($"--top-k {TopK}: must be in 0..{CandidateCount} (the number of candidates).");
        if (Batch < 2) throw new SettingException($"--batch {Batch}: the batch needs at least 2 samples.");
        if (Seeds < 1) throw new SettingException($"--proxy-seeds {Seeds}: need at least one evaluation per candidate.");
        Training.Validate();
    }
}

/// <summary>
/// Best of K sampled candidates by a zero-cost proxy at initialisation (e.g. NASWOT, Mellor et al., ICML 2021, arXiv
/// 2006.04647, which searches NAS-Bench-201 this way), or of given ones: every candidate is scored on the same batch, each
/// network's weights seeded by the stream "proxy-init" of its genotype (so a genotype scores the same whether sampled or
/// given); optionally the top-k are trained and the best on validation kept.
/// With an aggregate (<see cref="ProxyAggregates"/>, e.g. AZ-NAS's) each candidate's journal entry keeps its component
/// scores as measures, and the ranking is the aggregate over all K candidates.
/// </summary>
public sealed class ProxySearch(ProxySearchOptions options) : SearchStrategy<ProxySearchOptions>(StrategyName, options), ICandidateStrategy
{
    public const string StrategyName = "proxy";

    public override SearchOutcome Run(SearchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Options.Validate();
        var clock = Stopwatch.StartNew();
        var aggregate = ProxyAggregates.Find(Options.Proxy);
        var candidates = Candidates.Given(context.Space, Options.Architectures) ?? Candidates.Sample(context.Space, Options.Candidates, context.Seed);
        using var scorer = new Scorer(this, context);
        var (ranked, scoring) = Candidates.Score(context, candidates, scorer.Score);
        if (aggregate is not null)
        {
            var values = aggregate.Score([.. ranked.Select(c => c.Measures)]);
            ranked = Candidates.Rank(ranked.Select((c, k) => c with { Score = values[k], NonFiniteReason = null }));
        }
        var (trained, best, training) = Candidates.TrainTop(context, candidates, ranked, Options.TopK, Options.Network, Options.Training);
        return new SearchOutcome(Name, best)
        {
            Ranked = ranked, Trained = trained, ScoringSeconds = scoring, TrainingSeconds = training, SearchSeconds = clock.Elapsed.TotalSeconds,
        };
    }

    public override void Validate(ISearchSpace space, ExperimentData data)
    {
        Options.Validate();
        Candidates.Given(space, Options.Architectures);
    }

    public ICandidateScorer CandidateScorer(SearchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Options.Validate();
        return new Scorer(this, context);
    }

    /// <summary>
    /// Every candidate on the search's batch, each network's weights from the stream "proxy-init" of its genotype; with
    /// <see cref="ProxySearchOptions.Seeds"/> &gt; 1, also on further batches and initialisations (stream index i), the scores
    /// averaged: a proxy measured on one batch of one random network is itself random, and the top of a ranking is where its
    /// noise decides the pick.
    /// </summary>
    private sealed class Scorer : ICandidateScorer
    {
        private readonly ProxySearchOptions options;
        private readonly SearchContext context;
        private readonly ProxyAggregate? aggregate;
        private readonly ProxyEvaluator evaluator;
        private readonly IReadOnlyList<int> sampleShape;
        private readonly int classes;
        private readonly (Tensor X, Tensor Y)[] batches;

        public Scorer(ProxySearch strategy, SearchContext context)
        {
            (options, this.context) = (strategy.Options, context);
            aggregate = ProxyAggregates.Find(options.Proxy);
            evaluator = new ProxyEvaluator(aggregate is null ? [ProxyRegistry.Get(options.Proxy)] : aggregate.Components.Select(ProxyRegistry.Get));
            var source = context.Data.Batches();
            var fixedBatches = Enumerable.Range(0, options.Seeds)
                .Select(i => source.Fixed(options.Batch, Stream(context.Seed, i, "proxy-batch")))
                .ToArray();
            (sampleShape, classes) = (fixedBatches[0].SampleShape, fixedBatches[0].NumClasses);
            batches = [.. fixedBatches.Select(batch =>
            {
                using var scope = NewDisposeScope();
                var (inputs, labels) = batch.ToTensors(context.Device);
                return (inputs.to(options.Network.DType).DetachFromDisposeScope(), labels.DetachFromDisposeScope());
            })];
        }

        public ScoredCandidate Score(int index, IGenotype g)
        {
            var evaluations = new ProxyEvaluation[batches.Length];
            for (int i = 0; i < batches.Length; i++)
            {
                long seed = Stream(context.Seed, i, "proxy-init", g.Canonical);
                using var scope = NewDisposeScope();
                evaluations[i] = evaluator.Evaluate(s => context.Space.BuildNetwork(g, sampleShape, classes, options.Network, s, context.Device),
                    batches[i].X, batches[i].Y, classes, seed);
            }
            double seconds = evaluations.Sum(e => e.TotalSeconds);
            if (aggregate is not null)
                // The aggregate exists only over the whole set: each candidate keeps its component scores (their means; NaN
                // where an evaluation is not finite).
                return new ScoredCandidate(index, g.Canonical, double.NaN, $"{aggregate.Name} ranks a candidate against all the others; its components are its measures",
                    evaluations[0].Results.ToDictionary(r => r.Name, r => evaluations.All(e => e[r.Name].IsFinite) ? evaluations.Average(e => e[r.Name].Value) : double.NaN),
                    seconds);
            // The mean over the evaluations; not finite when any one is not, with that one's value and reason.
            string proxy = evaluations[0].Results[0].Name;
            int bad = Array.FindIndex(evaluations, e => !e[proxy].IsFinite);
            if (bad >= 0)
            {
                var score = evaluations[bad][proxy];
                return new ScoredCandidate(index, g.Canonical, score.Value, batches.Length == 1 ? score.Reason : $"evaluation {bad + 1} of {batches.Length}: {score.Reason}",
                    new Dictionary<string, double>(), seconds);
            }
            return new ScoredCandidate(index, g.Canonical, evaluations.Average(e => e[proxy].Value), null, new Dictionary<string, double>(), seconds);
        }

        /// <summary>Evaluation i's seed on <paramref name="path"/>: the single evaluation's stream for i = 0, so one evaluation
        /// draws what it always drew, and the path extended by i after it.</summary>
        private static long Stream(long seed, int i, params object[] path) => i == 0 ? Seeds.Derive(seed, path) : Seeds.Derive(seed, [.. path, i]);

        public void Dispose()
        {
            foreach (var (x, y) in batches)
            {
                x.Dispose();
                y.Dispose();
            }
        }
    }
}
