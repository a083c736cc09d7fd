namespace NasSharp.Experiments;

/// <summary>An experiment as workers elsewhere see it: its kind, its configuration as stored (JSON) and its seed, from which a
/// worker makes the experiment's scorer (<see cref="ItemScorers"/>).</summary>
public sealed record DispatchedExperiment(ExperimentKind Kind, string ConfigJson, long Seed);

/// <summary>One item of an experiment to compute elsewhere: its journal key and what to compute, as JSON.</summary>
public sealed record ItemWork(string Key, string PayloadJson);

/// <summary>A computed item: its key, its journal record as JSON, and the worker that computed it.</summary>
public sealed record ItemDone(string Key, string RecordJson, string Worker);

/// <summary>
/// Computes an experiment's independent items away from the experiment's own thread (a cluster's workers). The experiment
/// journals each result on its own thread as the enumeration yields it, so its store has one writer; an item may be
/// computed twice when its worker is lost (the journal keeps the first record), never left out.
/// </summary>
public interface IItemDispatcher
{
    IEnumerable<ItemDone> Run(DispatchedExperiment experiment, IReadOnlyList<ItemWork> items, CancellationToken cancellation);
}

/// <summary>How an experiment hands its pending items to a dispatcher and journals what comes back.</summary>
public static class ItemDispatch
{
    /// <summary>
    /// Dispatches <paramref name="items"/> and journals each result on this thread as it arrives, reporting it as
    /// <paramref name="task"/> from <paramref name="done"/> of <paramref name="total"/>. A key already journaled keeps its
    /// first record, so a result computed twice (an item re-dispatched after its worker was lost) is stored once.
    /// </summary>
    public static void JournalResults<TItem, TRecord>(this IItemDispatcher dispatcher, ExperimentContext context, DispatchedExperiment experiment,
        IEnumerable<(string Key, TItem Item)> items, Func<TRecord, string> arch, string space, string task, int done, int total)
    {
        ArgumentNullException.ThrowIfNull(dispatcher);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(arch);
        var work = items.Select(i => new ItemWork(i.Key, NasJson.Serialize(i.Item))).ToList();
        foreach (var result in dispatcher.Run(experiment, work, context.Cancellation))
        {
            var record = NasJson.Deserialize<TRecord>(result.RecordJson);
            context.Journal.Record(result.Key, record, arch(record), space);
            context.Report(task, ++done, total, $"{arch(record)} on {result.Worker}");
        }
    }
}

/// <summary>Computes one item of a dispatched experiment: the worker's side of <see cref="IItemDispatcher"/>.</summary>
public interface IItemScorer : IDisposable
{
    /// <summary>The journal record (JSON) of the item <paramref name="payloadJson"/>.</summary>
    string Score(string payloadJson);
}

/// <summary>
/// The experiments whose items a cluster can compute, in one explicit table: each kind's scorer made from the stored
/// configuration, the seed and the worker's own data directory.
/// </summary>
public static class ItemScorers
{
    private static readonly Dictionary<ExperimentKind, Func<DispatchedExperiment, string, Spaces.SpaceRegistry, TorchSharp.torch.Device, IItemScorer>> Table = new()
    {
        [ExperimentKind.Correlate] = (e, dataDirectory, spaces, device) =>
        {
            var scorer = CorrelationScorer.FromConfig(NasJson.Deserialize<CorrelationConfig>(e.ConfigJson), e.Seed, dataDirectory, spaces, device);
            return new Scorer<CorrelationItem, ProxyEvaluationRecord>(scorer.Score, scorer);
        },
        [ExperimentKind.Truth] = (e, dataDirectory, spaces, device) =>
        {
            var scorer = new TruthScorer(NasJson.Deserialize<TruthConfig>(e.ConfigJson), e.Seed, dataDirectory, spaces, device);
            return new Scorer<TruthItem, TruthEntry>(scorer.Score, scorer);
        },
        [ExperimentKind.BenchSearch] = (e, dataDirectory, spaces, device) =>
        {
            var scorer = new ComparisonScorer(NasJson.Deserialize<ComparisonConfig>(e.ConfigJson), dataDirectory, spaces, device);
            return new Scorer<MethodItem, MethodRun>(scorer.Score, scorer);
        },
        [ExperimentKind.Search] = (e, dataDirectory, spaces, device) =>
        {
            var scorer = new SearchCandidateScorer(e.ConfigJson, e.Seed, dataDirectory, spaces, device);
            return new Scorer<Search.CandidateItem, Search.ScoredCandidate>(scorer.Score, scorer);
        },
    };

    public static IEnumerable<ExperimentKind> Kinds => Table.Keys;

    public static bool Supports(ExperimentKind kind) => Table.ContainsKey(kind);

    public static IItemScorer Create(DispatchedExperiment experiment, string dataDirectory, Spaces.SpaceRegistry spaces, TorchSharp.torch.Device device)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        return Table.TryGetValue(experiment.Kind, out var create) ? create(experiment, dataDirectory, spaces, device)
            : throw new SettingException($"--cluster: {ExperimentRun.KindName(experiment.Kind)} runs cannot be run on a cluster yet; " +
                $"these can: {string.Join(", ", Kinds.Select(ExperimentRun.KindName))}.");
    }

    private sealed class Scorer<TItem, TRecord>(Func<TItem, TRecord> score, IDisposable inner) : IItemScorer
    {
        public string Score(string payloadJson) => NasJson.Serialize(score(NasJson.Deserialize<TItem>(payloadJson)));
        public void Dispose() => inner.Dispose();
    }
}
