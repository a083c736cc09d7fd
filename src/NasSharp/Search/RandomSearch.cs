using System.Diagnostics;
using NasSharp.Networks;
using NasSharp.Training;

namespace NasSharp.Search;

public sealed record RandomSearchOptions
{
    /// <summary>Candidates sampled and trained; with <see cref="BudgetSeconds"/>, the most it trains.</summary>
    public int Candidates { get; init; } = 10;
    /// <summary>Stop sampling once the trainings so far took this long (at least one is trained); null trains every candidate.</summary>
    public double? BudgetSeconds { get; init; }
    public NetworkOptions Network { get; init; } = new();
    public TrainingOptions Training { get; init; } = new() { Epochs = 1 };
    /// <summary>Also measure each trained candidate's test accuracy (a comparison that ranks on validation may skip it).</summary>
    public bool Test { get; init; } = true;

    public void Validate()
    {
        if (Candidates < 1) throw new SettingException($"--candidates {Candidates}: need at least one candidate.");
        if (BudgetSeconds is { } b && !(b > 0 && double.IsFinite(b))) throw new SettingException($"--budget {b}: must be a positive number of seconds.");
        Training.Validate();
    }
}

/// <summary>
/// Random search, the baseline every NAS method must beat (Li &amp; Talwalkar, UAI 2019, arXiv 1902.07638): sample candidates,
/// train each briefly, keep the best on validation accuracy; with a time budget, as many as the budget allows. Candidates
/// are distinct and drawn from the seed's stream "candidates", so a budgeted search trains a prefix of the same list.
/// </summary>
public sealed class RandomSearch(RandomSearchOptions options) : SearchStrategy<RandomSearchOptions>(StrategyName, options)
{
    public const string StrategyName = "random";

    public override SearchOutcome Run(SearchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Options.Validate();
        var clock = Stopwatch.StartNew();
        var candidates = Candidates.Sample(context.Space, Options.Candidates, context.Seed);
        var trained = new List<TrainedCandidate>();
        double spent = 0;
        for (int i = 0; i < candidates.Count && (trained.Count == 0 || Options.BudgetSeconds is not { } budget || spent < budget); i++)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            var t = Candidates.Train(context, i, candidates[i], Options.Network, Options.Training, Options.Test);
            trained.Add(t);
            spent += t.Seconds;
            context.Report("training", i + 1, candidates.Count, candidates[i].Canonical);
        }
        var ranked = Candidates.Rank(trained.Select(t => new ScoredCandidate(t.Index, t.Arch, t.ValidationAccuracyPercent ?? double.NaN,
            t.ValidationAccuracyPercent is null ? (t.Diverged ? "training diverged" : "no validation split") : null, new Dictionary<string, double>(), t.Seconds)));
        return new SearchOutcome(Name, ranked.FirstOrDefault(c => c.IsFinite)?.Arch)
        {
            Ranked = ranked, Trained = trained, TrainingSeconds = spent, SearchSeconds = clock.Elapsed.TotalSeconds,
        };
    }
}
