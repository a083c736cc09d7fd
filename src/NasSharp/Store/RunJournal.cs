using System.Diagnostics.CodeAnalysis;

namespace NasSharp.Store;

/// <summary>
/// Where an experiment keeps each finished item (a candidate scored, a step taken, a network trained) as a typed record
/// under a key, and finds it again: a rerun after an interruption reads what is done instead of computing it twice.
/// Records are kept in NasSharp's JSON dialect (<see cref="NasJson"/>), so a non-finite number reads back as NaN and its
/// reason is whatever field of the record says why.
/// </summary>
public interface IRunJournal
{
    /// <summary>The record stored under <paramref name="key"/>, if any.</summary>
    bool TryFind<T>(string key, [MaybeNullWhen(false)] out T value);

    /// <summary>Stores <paramref name="value"/> under <paramref name="key"/> (a key already stored keeps its first record).</summary>
    void Record<T>(string key, T value, string? arch = null, string? space = null);

    /// <summary>Every record whose key starts with <paramref name="prefix"/>, in the order they were first stored.</summary>
    IReadOnlyList<(string Key, T Value)> All<T>(string prefix);
}

/// <summary>A journal that keeps its records in memory only: a search run from code without a results store.</summary>
public sealed class MemoryJournal : IRunJournal
{
    private readonly List<(string Key, string Json)> order = [];
    private readonly Dictionary<string, string> records = [];

    public bool TryFind<T>(string key, [MaybeNullWhen(false)] out T value)
    {
        if (records.TryGetValue(key, out var json)) { value = NasJson.Deserialize<T>(json); return true; }
        value = default;
        return false;
    }

    public void Record<T>(string key, T value, string? arch = null, string? space = null)
    {
        if (records.ContainsKey(key)) return;
        var json = NasJson.Serialize(value);
        records[key] = json;
        order.Add((key, json));
    }

    public IReadOnlyList<(string Key, T Value)> All<T>(string prefix) =>
        [.. order.Where(r => r.Key.StartsWith(prefix, StringComparison.Ordinal)).Select(r => (r.Key, NasJson.Deserialize<T>(r.Json)))];
}

/// <summary>
/// The journal of a run in the results store: each record is committed as it is written (<see cref="ResultsStore.AddResult"/>),
/// so a process killed at any moment loses at most the item it was computing.
/// </summary>
public sealed class StoreJournal : IRunJournal
{
    private readonly ResultsStore store;
    private readonly long runId;
    private readonly List<ResultRecord> order;
    private readonly Dictionary<string, ResultRecord> byKey;

    public StoreJournal(ResultsStore store, long runId)
    {
        ArgumentNullException.ThrowIfNull(store);
        this.store = store;
        this.runId = runId;
        order = [.. store.GetResults(runId).Select(r => r.Record)];
        byKey = order.ToDictionary(r => r.ItemKey);
    }

    /// <summary>The records of a stored run, read-only (a report reads a finished run this way).</summary>
    public static IRunJournal Read(IEnumerable<StoredResult> results) => new Snapshot([.. results.Select(r => r.Record)]);

    public int Count => order.Count;

    public bool TryFind<T>(string key, [MaybeNullWhen(false)] out T value) => Find(byKey, key, out value);

    public void Record<T>(string key, T value, string? arch = null, string? space = null)
    {
        if (byKey.ContainsKey(key)) return;
        var record = new ResultRecord(key, NasJson.Serialize(value)) { Arch = arch, Space = space };
        store.AddResult(runId, record);
        order.Add(record);
        byKey[key] = record;
    }

    public IReadOnlyList<(string Key, T Value)> All<T>(string prefix) => Select<T>(order, prefix);

    private static bool Find<T>(Dictionary<string, ResultRecord> byKey, string key, [MaybeNullWhen(false)] out T value)
    {
        if (byKey.TryGetValue(key, out var record)) { value = Read<T>(record); return true; }
        value = default;
        return false;
    }

    private static IReadOnlyList<(string Key, T Value)> Select<T>(IEnumerable<ResultRecord> records, string prefix) =>
        [.. records.Where(r => r.ItemKey.StartsWith(prefix, StringComparison.Ordinal)).Select(r => (r.ItemKey, Read<T>(r)))];

    private static T Read<T>(ResultRecord record)
    {
        try { return NasJson.Deserialize<T>(record.ValueJson); }
        catch (System.Text.Json.JsonException e)
        {
            throw new StoreException($"Stored item '{record.ItemKey}' is not a {typeof(T).Name} ({e.Message}); it was written by another " +
                "version of NasSharp or another command. Start a new run (another --store, or change an option).", e);
        }
    }

    private sealed class Snapshot(List<ResultRecord> records) : IRunJournal
    {
        private readonly Dictionary<string, ResultRecord> byKey = records.ToDictionary(r => r.ItemKey);

        public bool TryFind<T>(string key, [MaybeNullWhen(false)] out T value) => Find(byKey, key, out value);

        public void Record<T>(string key, T value, string? arch = null, string? space = null) =>
            throw new InvalidOperationException("A stored run's snapshot is read-only.");

        public IReadOnlyList<(string Key, T Value)> All<T>(string prefix) => Select<T>(records, prefix);
    }
}

/// <summary>Composing journals.</summary>
public static class RunJournals
{
    /// <summary>
    /// The part of <paramref name="journal"/> under <paramref name="prefix"/>: a step of an experiment (one method and seed
    /// of a comparison, the search before a training comparison) keeps its items there, with the keys it would use alone.
    /// </summary>
    public static IRunJournal Under(this IRunJournal journal, string prefix) => new Scoped(journal, prefix);

    private sealed class Scoped(IRunJournal inner, string prefix) : IRunJournal
    {
        public bool TryFind<T>(string key, [MaybeNullWhen(false)] out T value) => inner.TryFind(prefix + key, out value);

        public void Record<T>(string key, T value, string? arch = null, string? space = null) => inner.Record(prefix + key, value, arch, space);

        public IReadOnlyList<(string Key, T Value)> All<T>(string keyPrefix) =>
            [.. inner.All<T>(prefix + keyPrefix).Select(r => (r.Key[prefix.Length..], r.Value))];
    }
}
