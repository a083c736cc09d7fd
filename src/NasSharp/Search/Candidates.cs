using System.Diagnostics;
using NasSharp.Networks;
using NasSharp.Spaces;
using NasSharp.Training;

namespace NasSharp.Search;

/// <summary>
/// What the strategies that score sampled candidates share (<c>eigen</c>, <c>proxy</c>, <c>random</c>): the seeded sample,
/// scoring each candidate once (journal keys <c>score/i</c>), the ranking, and training the best-ranked under one budget
/// (journal keys <c>train/i</c>) to choose the winner on validation accuracy.
/// </summary>
public static class Candidates
{
    /// <summary><paramref name="count"/> distinct genotypes from the seed's stream "candidates".</summary>
    public static IReadOnlyList<IGenotype> Sample(ISearchSpace space, int count, long seed) =>
        space.SampleDistinct(count, Seeds.Rng(seed, "candidates"));

    /// <summary>
    /// The architectures of a candidates file: one genotype per line, surrounding whitespace trimmed, blank lines and lines
    /// starting with <c>#</c> skipped. A missing or unreadable file is a <see cref="SettingException"/>.
    /// </summary>
    public static IReadOnlyList<string> ReadFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string[] lines;
        try { lines = File.ReadAllLines(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SettingException($"--archs {path}: cannot read it: {e.Message}");
        }
        return [.. lines.Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))];
    }

    /// <summary>
    /// The given candidates parsed in <paramref name="space"/> (null when none are given); a genotype that does not parse,
    /// or one given twice, is a <see cref="SettingException"/> naming it.
    /// </summary>
    public static IReadOnlyList<IGenotype>? Given(ISearchSpace space, IReadOnlyList<string>? architectures)
    {
        if (architectures is null) return null;
        var genotypes = new List<IGenotype>(architectures.Count);
        var seen = new Dictionary<string, int>();
        foreach (var (text, line) in architectures.Select((a, i) => (a, i + 1)))
        {
            IGenotype g;
            try { g = space.Parse(text); }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                throw new SettingException($"--archs: architecture {line}: {e.Message}");
            }
            if (seen.TryGetValue(g.Canonical, out int first))
                throw new SettingException($"--archs: architecture {line} is architecture {first} again ({g.Canonical}).");
            seen[g.Canonical] = line;
            genotypes.Add(g);
        }
        return genotypes;
    }

    /// <summary>Finite scores descending (ties by candidate index), then every non-finite one.</summary>
    public static IReadOnlyList<ScoredCandidate> Rank(IEnumerable<ScoredCandidate> scores) =>
        [.. scores.OrderBy(s => s.IsFinite ? 0 : 1)
                  .ThenByDescending(s => s.IsFinite ? s.Score : 0)
                  .ThenBy(s => s.Index)];

    /// <summary>
    /// Scores every candidate not yet in the journal, in order, recording each as it finishes; ranked. With
    /// <see cref="SearchContext.Dispatch"/> the candidates not yet journaled are scored there first (by a scorer made from the
    /// search's configuration, <see cref="CandidateStrategies"/>) and journaled as they arrive.
    /// </summary>
    public static (IReadOnlyList<ScoredCandidate> Ranked, double Seconds) Score(SearchContext context, IReadOnlyList<IGenotype> candidates,
        Func<int, IGenotype, ScoredCandidate> score)
    {
        var clock = Stopwatch.StartNew();
        if (context.Dispatch is var (dispatcher, experiment))
        {
            var pending = candidates.Select((g, i) => (Key: $"score/{i}", Item: new CandidateItem(i, g.Canonical)))
                .Where(p => !context.Journal.TryFind<ScoredCandidate>(p.Key, out _)).ToList();
            var experimentContext = new Experiments.ExperimentContext
            {
                Journal = context.Journal, Cancellation = context.Cancellation,
                Progress = context.Progress is { } progress ? new PhaseProgress(progress) : null,
            };
            Experiments.ItemDispatch.JournalResults<CandidateItem, ScoredCandidate>(dispatcher, experimentContext, experiment, pending, c => c.Arch, context.Space.SpaceName,
                "scoring", candidates.Count - pending.Count, candidates.Count);
        }
        var scores = new List<ScoredCandidate>(candidates.Count);
        for (int i = 0; i < candidates.Count; i++)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            var g = candidates[i];
            var s = Find<ScoredCandidate>(context, $"score/{i}", g, c => c.Arch);
            if (s is null)
            {
                s = score(i, g);
                context.Journal.Record($"score/{i}", s, g.Canonical, context.Space.SpaceName);
            }
            scores.Add(s);
            context.Report("scoring", i + 1, candidates.Count, g.Canonical);
        }
        return (Rank(scores), clock.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// Trains the first <paramref name="topK"/> finite candidates of <paramref name="ranked"/> (weights seeded by the stream
    /// "train-init" of the genotype, minibatch order by "train-order", so a genotype trains alike wherever it appears) and
    /// chooses the one with the best validation accuracy; its test accuracy is only reported. Without training the winner
    /// is the best-ranked finite candidate.
    /// </summary>
    public static (IReadOnlyList<TrainedCandidate> Trained, string? Best, double Seconds) TrainTop(SearchContext context,
        IReadOnlyList<IGenotype> candidates, IReadOnlyList<ScoredCandidate> ranked, int topK, NetworkOptions network, TrainingOptions training)
    {
        var clock = Stopwatch.StartNew();
        var top = ranked.Where(s => s.IsFinite).Take(topK).ToList();
        var trained = new List<TrainedCandidate>(top.Count);
        foreach (var (s, n) in top.Select((s, n) => (s, n)))
        {
            context.Cancellation.ThrowIfCancellationRequested();
            trained.Add(Train(context, s.Index, candidates[s.Index], network, training, test: true));
            context.Report("training", n + 1, top.Count, s.Arch);
        }
        var bestTrained = trained.Where(t => t.ValidationAccuracyPercent is not null)
                                 .OrderByDescending(t => t.ValidationAccuracyPercent).ThenBy(t => t.Index).FirstOrDefault();
        return (trained, bestTrained?.Arch ?? ranked.FirstOrDefault(s => s.IsFinite)?.Arch, clock.Elapsed.TotalSeconds);
    }

    /// <summary>Candidate <paramref name="index"/> trained once (journal key <c>train/i</c>).</summary>
    public static TrainedCandidate Train(SearchContext context, int index, IGenotype genotype, NetworkOptions network, TrainingOptions training, bool test)
    {
        var found = Find<TrainedCandidate>(context, $"train/{index}", genotype, t => t.Arch);
        if (found is not null) return found;
        var clock = Stopwatch.StartNew();
        var options = training with { Seed = Seeds.Derive(context.Seed, "train-order", genotype.Canonical) };
        var r = Trainer.FitArchitecture(context.Space, genotype, context.Data.Splits, network, options,
            Seeds.Derive(context.Seed, "train-init", genotype.Canonical), context.Device, test, cancellation: context.Cancellation);
        var trained = new TrainedCandidate(index, genotype.Canonical, r.ValidationAccuracyPercent, r.TestAccuracyPercent, r.Diverged, clock.Elapsed.TotalSeconds);
        context.Journal.Record($"train/{index}", trained, genotype.Canonical, context.Space.SpaceName);
        return trained;
    }

    /// <summary>A journal record of this candidate; one of another architecture means the run's configuration changed.</summary>
    private static T? Find<T>(SearchContext context, string key, IGenotype genotype, Func<T, string> arch) where T : class
    {
        if (!context.Journal.TryFind<T>(key, out var stored)) return null;
        return arch(stored) == genotype.Canonical ? stored
            : throw new InvalidOperationException($"The stored item '{key}' is {arch(stored)}, not {genotype.Canonical}: the stored run was made under another configuration.");
    }

    private sealed class PhaseProgress(IProgress<SearchProgress> search) : IProgress<Experiments.ExperimentProgress>
    {
        public void Report(Experiments.ExperimentProgress value) => search.Report(new SearchProgress(value.Task, value.Done, value.Total, value.Detail));
    }
}

/// <summary>One candidate of a search, to score elsewhere: its index in the sample and its genotype.</summary>
public sealed record CandidateItem(int Index, string Arch);

/// <summary>The strategies whose candidates can be scored elsewhere, in one explicit table: each made from its stored options.</summary>
public static class CandidateStrategies
{
    private static readonly Dictionary<string, Func<string, ICandidateStrategy>> Table = new()
    {
        [EigenSearch.StrategyName] = json => new EigenSearch(NasJson.Deserialize<EigenSearchOptions>(json)),
        [ProxySearch.StrategyName] = json => new ProxySearch(NasJson.Deserialize<ProxySearchOptions>(json)),
    };

    public static IEnumerable<string> Names => Table.Keys;

    public static bool Supports(string strategy) => Table.ContainsKey(strategy);

    /// <summary>The strategy <paramref name="strategy"/> with the options <paramref name="optionsJson"/> as a run stored them.</summary>
    public static ICandidateStrategy Create(string strategy, string optionsJson) =>
        Table.TryGetValue(strategy, out var create) ? create(optionsJson)
            : throw new SettingException($"--cluster: --strategy {strategy} cannot be run on a cluster; these can: {string.Join(", ", Names)}.");
}
