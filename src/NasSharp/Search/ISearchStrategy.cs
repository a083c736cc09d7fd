using NasSharp.Data;
using NasSharp.Spaces;
using NasSharp.Store;
using static TorchSharp.torch;

namespace NasSharp.Search;

/// <summary>
/// A search strategy: given a space, data and a seed, it returns the architecture it selects and what it measured on
/// the way. Every strategy has this one shape, so commands and experiments loop over strategies without knowing them;
/// the registry (<see cref="StrategyRegistry"/>) makes them from settings.
/// </summary>
public interface ISearchStrategy
{
    /// <summary>The registry name, e.g. <c>eigen</c>.</summary>
    string Name { get; }

    /// <summary>The options that decide the result, as a typed record (part of a run's resume key).</summary>
    object Options { get; }

    /// <summary>
    /// <see cref="Options"/> with the defaults that depend on the space resolved (eigen's NTK batch): what a run on
    /// <paramref name="space"/> keys on and reports.
    /// </summary>
    object OptionsOn(ISearchSpace space) => Options;

    /// <summary>
    /// Refuses, with a <see cref="SettingException"/>, a space or data this strategy cannot search (a usage mistake), before
    /// anything is computed or stored. <see cref="Run"/> checks the same.
    /// </summary>
    void Validate(ISearchSpace space, ExperimentData data) { }

    SearchOutcome Run(SearchContext context);
}

/// <summary>
/// A strategy that scores sampled candidates each on its own (<c>eigen</c>, <c>proxy</c>): its candidates can be computed
/// elsewhere (a cluster's workers, <see cref="SearchContext.Dispatch"/>) by a scorer made from the search's configuration.
/// </summary>
public interface ICandidateStrategy : ISearchStrategy
{
    /// <summary>The scorer of this search's candidates; it scores exactly as the strategy's own run does.</summary>
    ICandidateScorer CandidateScorer(SearchContext context);
}

/// <summary>Scores candidates of one search, one at a time, on the thread that made it (tensors it holds live on that thread).</summary>
public interface ICandidateScorer : IDisposable
{
    ScoredCandidate Score(int index, IGenotype genotype);
}

/// <summary>A strategy's name and typed options, the part every strategy shares.</summary>
public abstract class SearchStrategy<TOptions>(string name, TOptions options) : ISearchStrategy where TOptions : notnull
{
    public string Name { get; } = name;
    public TOptions Options { get; } = options;
    object ISearchStrategy.Options => Options;
    object ISearchStrategy.OptionsOn(ISearchSpace space) => OptionsOn(space);

    /// <inheritdoc cref="ISearchStrategy.OptionsOn"/>
    public virtual TOptions OptionsOn(ISearchSpace space) => Options;

    /// <inheritdoc cref="ISearchStrategy.Validate"/>
    public virtual void Validate(ISearchSpace space, ExperimentData data) { }

    /// <summary>
    /// The space's relaxation, which a strategy that <paramref name="uses"/> it needs; a space without one is a usage
    /// mistake naming the strategy, the space and <paramref name="spacesWithOne"/>.
    /// </summary>
    protected IRelaxation RelaxationOf(ISearchSpace space, string uses, string spacesWithOne) =>
        space.Relaxation ?? throw new SettingException($"--strategy {Name} {uses}, and the {space.SpaceName} space has none ({spacesWithOne}).");

    public abstract SearchOutcome Run(SearchContext context);
}

/// <summary>
/// What a strategy runs against: the space, the data (loaded on first use), the seed every random choice derives from,
/// the device, and where finished work is kept (<see cref="Journal"/>: a strategy records each candidate, step or
/// training as it finishes and reads it back on a rerun, so an interrupted search resumes with the same result).
/// </summary>
public sealed record SearchContext(ISearchSpace Space, ExperimentData Data, long Seed)
{
    public Device Device { get; init; } = CPU;
    public IRunJournal Journal { get; init; } = new MemoryJournal();
    public IProgress<SearchProgress>? Progress { get; init; }
    public CancellationToken Cancellation { get; init; }
    /// <summary>Where a candidate strategy's candidates are scored (a cluster) and the search as its workers see it; null
    /// scores them in this process.</summary>
    public (Experiments.IItemDispatcher Dispatcher, Experiments.DispatchedExperiment Experiment)? Dispatch { get; init; }

    /// <summary>Reports progress of a phase of the search.</summary>
    public void Report(string phase, int done, int total, string? detail = null) =>
        Progress?.Report(new SearchProgress(phase, done, total, detail));
}

/// <summary>Progress of a search phase ("scoring", "training", "steps"): items done of total, and the current one.</summary>
public readonly record struct SearchProgress(string Phase, int Done, int Total, string? Detail);

/// <summary>
/// One candidate as a strategy scored it: <see cref="Score"/> is what the strategy ranks by (larger is better), NaN with
/// <see cref="NonFiniteReason"/> when it could not be computed; <see cref="Measures"/> are the other quantities measured
/// (e.g. λ_max, the trace of the NTK).
/// </summary>
public sealed record ScoredCandidate(int Index, string Arch, double Score, string? NonFiniteReason, IReadOnlyDictionary<string, double> Measures, double Seconds)
{
    public bool IsFinite => NonFiniteReason is null && double.IsFinite(Score);
}

/// <summary>A candidate trained under a strategy's budget: accuracies in % (null when that split was not evaluated or training diverged).</summary>
public sealed record TrainedCandidate(int Index, string Arch, double? ValidationAccuracyPercent, double? TestAccuracyPercent, bool Diverged, double Seconds);

/// <summary>One group of a relaxed search's architecture distribution: per edge, each operation's probability.</summary>
public sealed record GroupProbabilities(string Name, IReadOnlyList<IReadOnlyDictionary<string, double>> Edges);

/// <summary>
/// What a search over a relaxed supernet adds to its outcome: the final distribution over operations, the genotype each
/// of the space's derivation rules gives (the first is the outcome's architecture), and the objective per step.
/// </summary>
public sealed record RelaxedOutcome(IReadOnlyList<GroupProbabilities> Alpha, IReadOnlyDictionary<string, string> Derivations, IReadOnlyList<Nasi.NasiStep> Steps);

/// <summary>
/// A strategy's outcome, one type for every strategy: the architecture it selects (<see cref="Arch"/>, null when no
/// candidate had a finite score or the search could not tell the operations apart; <see cref="NoArchReason"/> says which),
/// the candidates it scored in rank order, those it trained, and its timings.
/// </summary>
public sealed record SearchOutcome(string Strategy, string? Arch)
{
    /// <summary>The reason given when a strategy selects nothing and says no more.</summary>
    public const string NoFiniteCandidate = "no candidate had a finite score or could be trained";

    private readonly string? noArchReason;

    /// <summary>Why <see cref="Arch"/> is null (null when it is not).</summary>
    public string? NoArchReason
    {
        get => Arch is null ? noArchReason ?? NoFiniteCandidate : null;
        init => noArchReason = value;
    }

    public IReadOnlyList<ScoredCandidate> Ranked { get; init; } = [];
    public IReadOnlyList<TrainedCandidate> Trained { get; init; } = [];
    public RelaxedOutcome? Relaxed { get; init; }
    /// <summary>One line on how far the strategy's score can be trusted on this space (e.g. not known to rank its cells), or null.</summary>
    public string? Caveat { get; init; }
    public double ScoringSeconds { get; init; }
    public double TrainingSeconds { get; init; }
    /// <summary>Wall-clock seconds of the whole search (work found in the journal counts with the seconds it took then).</summary>
    public double SearchSeconds { get; init; }
}
