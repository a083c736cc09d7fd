using NasSharp.Data;
using NasSharp.Search;
using NasSharp.Search.Nasi;
using NasSharp.Spaces;

namespace NasSharp.Experiments;

/// <summary>A search's configuration: the space, the data, the strategy and its options.</summary>
public sealed record SearchConfig(SpaceSpec Space, DataSpec Data, string Strategy, object Options);

/// <summary>One derivation rule's architecture and, when the space has a table holding it, its test accuracies (%).</summary>
public sealed record DerivationOutput(string Rule, string Arch, IReadOnlyDictionary<string, double>? TestAccuracyPercent);

/// <summary>A ranked candidate with what it measured and, when trained, its accuracies (%).</summary>
public sealed record RankedOutput(int Rank, int Index, string Arch, double Score, string? NonFiniteReason, IReadOnlyDictionary<string, double> Measures,
    double? ValAccuracyPercent, double? TestAccuracyPercent, double Seconds);

/// <summary>The trace norms of a relaxed search's samples and the ν of its last step.</summary>
public sealed record TraceSummary(double Min, double Mean, double Max, double FinalNu)
{
    public static TraceSummary? Of(IReadOnlyList<NasiStep> steps) =>
        steps.Count == 0 ? null : new(steps.Min(s => s.TraceNorm), steps.Average(s => s.TraceNorm), steps.Max(s => s.TraceNorm), steps[^1].Nu);
}

/// <summary>
/// What <c>nas search</c> reports, for every strategy: the architecture selected, its table accuracies when the space has
/// a table, the ranked candidates (sampling strategies) or the architecture distribution and steps (relaxed strategies).
/// </summary>
public sealed record SearchOutput
{
    public long? RunId { get; init; }
    public bool Resumed { get; init; }
    public required string Space { get; init; }
    public required string Dataset { get; init; }
    public required string Strategy { get; init; }
    public long Seed { get; init; }
    /// <summary>The architecture the search selects; null when it selects none, <see cref="NoArchReason"/> saying why.</summary>
    public string? Arch { get; init; }
    /// <summary>Why <see cref="Arch"/> is null: no candidate had a finite score, or a degenerate relaxed search (null when it is not).</summary>
    public string? NoArchReason { get; init; }
    /// <summary>Why the selected architecture is degenerate (<see cref="IGenotype.Degeneracy"/>), or null: a warning that it is no ordinary result.</summary>
    public string? Degeneracy { get; init; }
    /// <summary>One line on how far the strategy's score can be trusted on this space (<see cref="SearchOutcome.Caveat"/>), or null.</summary>
    public string? Caveat { get; init; }
    public double? ValAccuracyPercent { get; init; }
    public double? TestAccuracyPercent { get; init; }
    /// <summary>The selected architecture's test accuracy (%) per target of the space's table; null without one.</summary>
    public IReadOnlyDictionary<string, double>? TableTestAccuracyPercent { get; init; }
    public IReadOnlyList<DerivationOutput> Derivations { get; init; } = [];
    public IReadOnlyList<RankedOutput> Ranked { get; init; } = [];
    public int NonFinite { get; init; }
    public IReadOnlyList<GroupProbabilities> Alpha { get; init; } = [];
    public TraceSummary? TraceNorm { get; init; }
    public IReadOnlyList<NasiStep> Steps { get; init; } = [];
    public double SearchSeconds { get; init; }
    public double ScoringSeconds { get; init; }
    public double TrainingSeconds { get; init; }
    public required object Options { get; init; }
}

/// <summary>
/// A search by one strategy in one space (<see cref="ExperimentKind.Search"/>): the strategy's work is journaled under the
/// run, so an interrupted search resumes; the selected architecture (and every derivation of a relaxed search) is looked
/// up in <paramref name="table"/> when one is given.
/// </summary>
public sealed class SearchExperiment(ISearchSpace space, ExperimentData data, ISearchStrategy strategy, long seed, IGroundTruth? table = null)
    : IExperiment<SearchOutput>
{
    public ExperimentKind Kind => ExperimentKind.Search;
    public object Config { get; } = new SearchConfig(SpaceSpec.Of(space), data.Spec, strategy.Name, strategy.OptionsOn(space));
    public long Seed => seed;

    public void Validate() => strategy.Validate(space, data);

    /// <summary>A candidate strategy's candidates are the items a cluster computes; other strategies run in one process.</summary>
    public void ValidateDispatch()
    {
        if (strategy is not ICandidateStrategy || !CandidateStrategies.Supports(strategy.Name))
            throw new SettingException($"--cluster: --strategy {strategy.Name} cannot be run on a cluster; these can: {string.Join(", ", CandidateStrategies.Names)}.");
    }

    public SearchOutput Run(ExperimentContext context)
    {
        if (context.Dispatcher is not null) ValidateDispatch();
        var search = new SearchContext(space, data, seed)
        {
            Device = context.Device,
            Journal = context.Journal,
            Cancellation = context.Cancellation,
            Progress = context.Progress is null ? null : context.ForSearch(),
            Dispatch = context.Dispatcher is { } dispatcher ? (dispatcher, new DispatchedExperiment(Kind, NasJson.Serialize(Config), seed)) : null,
        };
        var outcome = strategy.Run(search);
        return Output(outcome, context);
    }

    private SearchOutput Output(SearchOutcome outcome, ExperimentContext context)
    {
        var trained = outcome.Trained.ToDictionary(t => t.Index);
        var best = outcome.Trained.FirstOrDefault(t => t.Arch == outcome.Arch);
        IReadOnlyDictionary<string, double>? Lookup(string? arch) => arch is null ? null : table?.Lookup(space.Parse(arch))?.TestAccuracyPercent;
        return new SearchOutput
        {
            RunId = context.RunId,
            Resumed = context.Resumed,
            Space = space.SpaceName,
            Dataset = data.Name,
            Strategy = strategy.Name,
            Seed = seed,
            Arch = outcome.Arch,
            NoArchReason = outcome.NoArchReason,
            Degeneracy = outcome.Arch is null ? null : space.Parse(outcome.Arch).Degeneracy,
            Caveat = outcome.Caveat,
            ValAccuracyPercent = best?.ValidationAccuracyPercent,
            TestAccuracyPercent = best?.TestAccuracyPercent,
            TableTestAccuracyPercent = Lookup(outcome.Arch),
            Derivations = outcome.Relaxed is { } r ? [.. r.Derivations.Select(d => new DerivationOutput(d.Key, d.Value, Lookup(d.Value)))] : [],
            Ranked = [.. outcome.Ranked.Select((c, i) =>
            {
                trained.TryGetValue(c.Index, out var t);
                return new RankedOutput(i + 1, c.Index, c.Arch, c.Score, c.NonFiniteReason, c.Measures, t?.ValidationAccuracyPercent, t?.TestAccuracyPercent, c.Seconds);
            })],
            NonFinite = outcome.Ranked.Count(c => !c.IsFinite),
            Alpha = outcome.Relaxed?.Alpha ?? [],
            TraceNorm = outcome.Relaxed is { } relaxed ? TraceSummary.Of(relaxed.Steps) : null,
            Steps = outcome.Relaxed?.Steps ?? [],
            SearchSeconds = outcome.SearchSeconds,
            ScoringSeconds = outcome.ScoringSeconds,
            TrainingSeconds = outcome.TrainingSeconds,
            Options = strategy.OptionsOn(space),
        };
    }

}

/// <summary>Scores a search's candidates from the search's configuration alone: a cluster's worker side of a search.</summary>
public sealed class SearchCandidateScorer : IDisposable
{
    private readonly ISearchSpace space;
    private readonly ICandidateScorer scorer;

    public SearchCandidateScorer(string configJson, long seed, string dataDirectory, SpaceRegistry spaces, TorchSharp.torch.Device device)
    {
        ArgumentNullException.ThrowIfNull(spaces);
        // The options are stored as the strategy's own record; read back by the strategy's name.
        using var config = System.Text.Json.JsonDocument.Parse(configJson);
        var root = config.RootElement;
        var stored = NasJson.Deserialize<SearchConfig>(configJson);
        space = spaces.Recreate(stored.Space.Name, stored.Space.Settings);
        var strategy = CandidateStrategies.Create(stored.Strategy, root.GetProperty("options").GetRawText());
        var context = new SearchContext(space, new ExperimentData(stored.Data, dataDirectory, seed), seed) { Device = device };
        scorer = strategy.CandidateScorer(context);
    }

    public ScoredCandidate Score(CandidateItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        return scorer.Score(item.Index, space.Parse(item.Arch));
    }

    public void Dispose() => scorer.Dispose();
}
