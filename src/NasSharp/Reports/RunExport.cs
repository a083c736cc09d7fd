using System.Globalization;
using CsvHelper;
using NasSharp.Experiments;
using NasSharp.Store;

namespace NasSharp.Reports;

/// <summary>
/// A stored run as a table of one row per item, for a spreadsheet or pandas: per architecture and target for a
/// correlation run (each target's network is scored on its own, so the scores differ per target), per step for a relaxed
/// search (NASI), per candidate for a sampling search, per (method, seed) for a search comparison, per architecture for a
/// truth run. Numbers are written to round-trip (invariant culture); a missing or non-finite value is an empty field,
/// its reason in a column of its own. A run still in progress is exported from what its journal holds so far.
/// </summary>
public static class RunExport
{
    /// <param name="Item">What one row is, e.g. "step".</param>
    public sealed record Table(string Item, IReadOnlyList<string> Header, IReadOnlyList<IReadOnlyList<string>> Rows);

    public static IReadOnlyList<string> Kinds { get; } =
        [.. new[] { ExperimentKind.Correlate, ExperimentKind.Search, ExperimentKind.BenchSearch, ExperimentKind.Truth }.Select(ExperimentRun.KindName)];

    public static Table Of(RunInfo run, IReadOnlyList<StoredResult> results)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(results);
        var journal = StoreJournal.Read(results);
        return StoredItems.Kind(run) switch
        {
            ExperimentKind.Correlate => Correlation(StoredItems.Evaluations(journal)),
            ExperimentKind.Search => Search(StoredItems.Output<SearchOutput>(run), journal),
            ExperimentKind.BenchSearch => Comparison(StoredItems.MethodRuns(StoredItems.Output<ComparisonOutput>(run), journal)),
            ExperimentKind.Truth => Truth(StoredItems.Trained(journal)),
            _ => throw new SettingException($"Run {run.Id} is a {run.Kind} run, which has no CSV export; the kinds exported are {string.Join(", ", Kinds)}."),
        };
    }

    /// <summary>RFC 4180: a header row, CRLF line ends, a field quoted when it holds a comma, a quote or a line break.</summary>
    public static void WriteCsv(Table table, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(writer);
        // CsvHelper's defaults are RFC 4180's; fields are written as text, so no formula escaping changes a leading '-'.
        using var csv = CsvWriter.Create(writer, null, leaveOpen: true);
        foreach (var row in table.Rows.Prepend(table.Header))
        {
            foreach (var field in row) csv.WriteField(field);
            csv.EndRecord();
        }
        csv.Flush();
    }

    /// <summary><see cref="WriteCsv(Table, TextWriter)"/> into a file that appears whole or not at all.</summary>
    /// <returns>The file's full path.</returns>
    public static string WriteCsv(Table table, string path) => AtomicFile.Write(path, w => WriteCsv(table, w));

    private static Table Correlation(IReadOnlyList<ProxyEvaluationRecord> records)
    {
        var proxies = records.SelectMany(r => r.Scores.Keys).Distinct().ToList();
        return new("architecture and target", ["index", "arch", "target", "test_accuracy_percent", .. proxies.Select(p => $"score_{p}"), "non_finite", "seconds"],
            [.. records.Select(r => (IReadOnlyList<string>)[N(r.Index), r.Arch, r.Target, N(r.AccuracyPercent),
                .. proxies.Select(p => r.Scores.TryGetValue(p, out var v) ? N(v) : ""),
                string.Join("; ", r.Reasons.Select(kv => $"{kv.Key}: {kv.Value}")), N(r.TotalSeconds)])]);
    }

    private static Table Search(SearchOutput? output, IRunJournal journal)
    {
        var steps = StoredItems.Steps(output, journal);
        if (steps.Count > 0)
            return new("step", ["step", "trace_norm", "objective", "nu", "gradient_norm"],
                [.. steps.Select(s => (IReadOnlyList<string>)[N(s.Step), N(s.TraceNorm), N(s.Objective), N(s.Nu), N(s.GradientNorm)])]);
        var ranked = StoredItems.Ranked(output, journal);
        var measures = ranked.SelectMany(c => c.Measures.Keys).Distinct().ToList();
        return new("candidate", ["rank", "index", "arch", "score", "non_finite_reason", "val_accuracy_percent", "test_accuracy_percent", "seconds",
                .. measures.Select(m => $"measure_{m}")],
            [.. ranked.Select(c => (IReadOnlyList<string>)[N(c.Rank), N(c.Index), c.Arch, N(c.Score), c.NonFiniteReason ?? "", N(c.ValAccuracyPercent),
                N(c.TestAccuracyPercent), N(c.Seconds), .. measures.Select(m => c.Measures.TryGetValue(m, out var v) ? N(v) : "")])]);
    }

    private static Table Comparison(IReadOnlyList<MethodRun> runs)
    {
        var targets = runs.SelectMany(r => r.TestAccuracyPercent.Keys).Distinct().ToList();
        return new("method and seed", ["method", "seed", "arch", .. targets.Select(t => $"test_accuracy_percent_{t}"), "seconds", "detail"],
            [.. runs.Select(r => (IReadOnlyList<string>)[r.Method, N(r.Seed), r.Arch,
                .. targets.Select(t => r.TestAccuracyPercent.TryGetValue(t, out var v) ? N(v) : ""), N(r.Seconds), r.Detail ?? ""])]);
    }

    private static Table Truth(IReadOnlyList<TruthEntry> entries) =>
        new("architecture", ["index", "arch", "val_accuracy_percent", "test_accuracy_percent", "diverged", "seconds"],
            [.. entries.Select(e => (IReadOnlyList<string>)[N(e.Index), e.Arch, N(e.ValidationAccuracyPercent), N(e.TestAccuracyPercent),
                e.Diverged ? "true" : "false", N(e.Seconds)])]);

    private static string N(double? v) => v is { } x && double.IsFinite(x) ? x.ToString("R", CultureInfo.InvariantCulture) : "";

    private static string N(long v) => v.ToString(CultureInfo.InvariantCulture);
}
