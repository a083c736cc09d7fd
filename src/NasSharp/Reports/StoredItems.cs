using NasSharp.Experiments;
using NasSharp.Search;
using NasSharp.Search.Nasi;
using NasSharp.Store;

namespace NasSharp.Reports;

/// <summary>
/// A stored run's items as the report, the CSV export and the comparison read them: from the run's output when it
/// completed, else from what its journal holds so far.
/// </summary>
internal static class StoredItems
{
    /// <summary>The run's kind, or null for a kind this version does not know.</summary>
    public static ExperimentKind? Kind(RunInfo run) =>
        Enum.GetValues<ExperimentKind>().Cast<ExperimentKind?>().FirstOrDefault(k => ExperimentRun.KindName(k!.Value) == run.Kind);

    public static T? Output<T>(RunInfo run) where T : class => run.SummaryJson is { } json ? NasJson.Deserialize<T>(json) : null;

    /// <summary>A relaxed search's steps (none for a sampling strategy).</summary>
    public static IReadOnlyList<NasiStep> Steps(SearchOutput? output, IRunJournal journal) =>
        output?.Steps ?? [.. journal.All<NasiStepRecord>("step/").Select(s => s.Value.Step)];

    /// <summary>A sampling search's candidates, best score first (none for a relaxed strategy).</summary>
    public static IReadOnlyList<RankedOutput> Ranked(SearchOutput? output, IRunJournal journal) =>
        output?.Ranked ?? [.. Candidates.Rank(journal.All<ScoredCandidate>("score/").Select(s => s.Value))
            .Select((c, i) => new RankedOutput(i + 1, c.Index, c.Arch, c.Score, c.NonFiniteReason, c.Measures, null, null, c.Seconds))];

    /// <summary>
    /// A search comparison's finished (method, seed) searches, journaled under <c>method/seed</c>; once it completed, under
    /// the method names of its output, where a relaxed method's other derivation rules are methods of their own.
    /// </summary>
    public static IReadOnlyList<MethodRun> MethodRuns(ComparisonOutput? output, IRunJournal journal) =>
        output?.Methods.SelectMany(m => m.Runs.Select(r => r with { Method = m.Method })).ToList()
        // Keys method/seed; each search's own items lie below them.
        ?? [.. journal.All<MethodRun>("").Where(x => x.Key.Count(ch => ch == '/') == 1).Select(x => x.Value)];

    /// <summary>A correlation run's evaluations, one per architecture and target.</summary>
    public static IReadOnlyList<ProxyEvaluationRecord> Evaluations(IRunJournal journal) =>
        [.. journal.All<ProxyEvaluationRecord>("arch/").Select(x => x.Value)];

    public static IReadOnlyList<TruthEntry> Trained(IRunJournal journal) => [.. journal.All<TruthEntry>("truth/").Select(x => x.Value)];
}
