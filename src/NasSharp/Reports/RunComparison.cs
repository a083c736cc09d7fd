using NasSharp.Experiments;
using NasSharp.Store;

namespace NasSharp.Reports;

/// <summary>One compared run as listed beside the others.</summary>
public sealed record ComparedRun(long RunId, RunStatus Status, string Command, DateTimeOffset StartedUtc, double? Seconds);

/// <summary>A setting or a result, with each run's value by run id (a run that has none is left out).</summary>
public sealed record ComparedValue(string Name, IReadOnlyDictionary<long, string> Values);

/// <summary>
/// Runs of one kind side by side (<c>nas runs compare</c>): the settings of their configurations that differ (how many
/// agree is counted), and their headline results, the scalar fields of each run's output (a search's options, already
/// among the settings, published figures, and the per-item lists, which the CSV export holds, are left out; a search
/// comparison's methods are listed by name). A run that has not completed has no results yet.
/// </summary>
public sealed record RunComparison(string Kind, IReadOnlyList<ComparedRun> Runs, int SameSettings, IReadOnlyList<ComparedValue> Differences,
    IReadOnlyList<ComparedValue> Results)
{
    public static RunComparison Of(IReadOnlyList<RunInfo> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        if (runs.Count < 2) throw new SettingException($"Comparing needs at least two runs; {runs.Count} given.");
        if (runs.GroupBy(r => r.Id).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new SettingException($"Run {twice.Key} is given twice; give each run once.");
        if (runs.FirstOrDefault(r => r.Kind != runs[0].Kind) is { } other)
            throw new SettingException($"Run {runs[0].Id} is a {runs[0].Kind} run and run {other.Id} a {other.Kind} run; compare runs of one kind.");
        var settings = Aligned(runs, r => RunConfiguration.Settings(r.ConfigJson));
        var differences = settings.Where(s => s.Values.Count < runs.Count || s.Values.Values.Distinct().Count() > 1).ToList();
        return new(runs[0].Kind, [.. runs.Select(r => new ComparedRun(r.Id, r.Status, r.Command, r.StartedUtc, r.Duration?.TotalSeconds))],
            settings.Count - differences.Count, differences, Aligned(runs, Headline));
    }

    private static List<ComparedValue> Aligned(IReadOnlyList<RunInfo> runs, Func<RunInfo, IReadOnlyList<KeyValuePair<string, string>>> values)
    {
        var perRun = runs.Select(r => (r.Id, Values: values(r).ToDictionary(kv => kv.Key, kv => kv.Value))).ToList();
        return [.. perRun.SelectMany(r => r.Values.Keys).Distinct()
            .Select(name => new ComparedValue(name, perRun.Where(r => r.Values.ContainsKey(name)).ToDictionary(r => r.Id, r => r.Values[name])))];
    }

    // A search's options (among the settings), published figures and a table's uniform-random reference are the same for
    // every run of a kind: no result to compare.
    private static readonly string[] Constant = ["options.", "published.", "uniform_random."];

    private static IReadOnlyList<KeyValuePair<string, string>> Headline(RunInfo run)
    {
        if (run.SummaryJson is null) return [];
        var fields = RunConfiguration.Settings(run.SummaryJson, objectArrays: false)
            .Where(kv => kv.Key is not ("run_id" or "resumed") && !Constant.Any(c => kv.Key.StartsWith(c, StringComparison.Ordinal) || kv.Key.Contains($".{c}", StringComparison.Ordinal)))
            .ToList();
        if (StoredItems.Kind(run) == ExperimentKind.BenchSearch && StoredItems.Output<ComparisonOutput>(run) is { } comparison)
            foreach (var m in comparison.Methods)
            {
                fields.Add(new($"methods.{m.Method}.seeds", m.Seeds.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                fields.AddRange(m.TestAccuracyPercent.Select(kv => new KeyValuePair<string, string>($"methods.{m.Method}.test_accuracy_percent.{kv.Key}", kv.Value.Format(m.Seeds))));
                fields.Add(new($"methods.{m.Method}.search_seconds", m.SearchSeconds.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)));
            }
        return fields;
    }
}
