using System.Globalization;
using System.Text;
using NasSharp.Benchmarks;
using NasSharp.Store;

namespace NasSharp.Reports;

/// <summary>
/// Writes a Markdown report with PNG figures for a stored run: a correlation run (proxy-vs-accuracy
/// scatter plots and a Kendall τ bar chart), a search (score-vs-rank curve) or a truth run (accuracy by rank).
/// Results of correlation runs use item keys <c>arch/i</c>, scores keyed by proxy, and metrics
/// <c>acc:TARGET</c> (accuracy in %) and <c>seconds:PROXY</c>.
/// </summary>
public static class RunReport
{
    public const string AccuracyPrefix = "acc:";
    public const string SecondsPrefix = "seconds:";

    public sealed record Written(string Markdown, IReadOnlyList<string> Figures);

    public static Written Write(RunInfo run, IReadOnlyList<StoredResult> results, string outDir)
    {
        ArgumentNullException.ThrowIfNull(run);
        Directory.CreateDirectory(outDir);
        var md = new StringBuilder();
        var figures = new List<string>();
        md.AppendLine($"# NasSharp report: run {run.Id} ({run.Kind})").AppendLine();
        md.AppendLine($"- command: `{run.Command}`");
        md.AppendLine($"- status: {run.Status.ToString().ToLowerInvariant()}, seed {run.Seed}, started {run.StartedUtc:u}" +
                      (run.EndedUtc is { } e ? $", ended {e:u} ({(e - run.StartedUtc).TotalMinutes:F1} min)" : ""));
        md.AppendLine($"- versions: {string.Join(", ", run.Versions.Select(kv => $"{kv.Key} {kv.Value}"))}");
        md.AppendLine($"- results: {results.Count}").AppendLine();

        switch (run.Kind)
        {
            case "correlate": Correlation(results, outDir, md, figures); break;
            case "search": Search(results, outDir, md, figures); break;
            case "truth": Truth(results, outDir, md, figures); break;
            default: md.AppendLine($"Runs of kind '{run.Kind}' have no figures; `nas runs show {run.Id}` lists their results."); break;
        }
        var path = Path.Combine(outDir, "report.md");
        File.WriteAllText(path, md.ToString());
        return new Written(path, figures);
    }

    private static string F(double v, string format = "F3") => double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : v.ToString(CultureInfo.InvariantCulture);

    /// <summary>A correlation run's stored evaluations as scored architectures: each proxy's score and the accuracies
    /// stored under <see cref="AccuracyPrefix"/> (the prefix removed).</summary>
    public static IReadOnlyList<ScoredArchitecture> ScoredArchitectures(IEnumerable<StoredResult> rows) =>
        rows.Select(r => new ScoredArchitecture(r.Record.Arch ?? r.Record.ItemKey, r.Record.Scores,
            r.Record.Metrics.Where(kv => kv.Key.StartsWith(AccuracyPrefix, StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key[AccuracyPrefix.Length..], kv => kv.Value))).ToList();

    private static void Correlation(IReadOnlyList<StoredResult> results, string outDir, StringBuilder md, List<string> figures)
    {
        var rows = results.Where(r => r.Record.ItemKey.StartsWith("arch/", StringComparison.Ordinal)).ToList();
        var items = ScoredArchitectures(rows);
        var proxies = items.SelectMany(i => i.Scores.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        var targets = items.SelectMany(i => i.Accuracies.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        if (items.Count < 2 || proxies.Count == 0 || targets.Count == 0)
        {
            md.AppendLine("Not enough scored architectures for correlations yet.");
            return;
        }
        var table = CorrelationTable.Compute(items, proxies, targets);
        // Keys are arch/INDEX/TARGET: one stored evaluation per architecture and target (the class count differs per target).
        int architectures = rows.Select(r => r.Record.ItemKey.Split('/') is { Length: >= 2 } k ? k[1] : r.Record.ItemKey).Distinct().Count();
        string counted = $"{architectures} architectures × {targets.Count} target{(targets.Count == 1 ? "" : "s")}";
        md.AppendLine($"## Rank correlation with test accuracy ({counted})").AppendLine();
        int k = CorrelationTable.BestOf;
        md.AppendLine($"Kendall τ-b / Spearman ρ / top-10% overlap against each target, and best-of-{k}: the target's expected value for the " +
            $"proxy's pick among {k} uniformly sampled architectures (exact over all {k}-subsets of these; all of them when fewer), the ceiling of a " +
            "search that maximises the proxy. Non-finite scores rank last and are counted (over all targets); " +
            "s/network is a proxy's own seconds per network evaluated, shared stages excluded.").AppendLine();
        md.Append("| proxy |").Append(string.Concat(targets.Select(t => $" {t} τ | {t} ρ | {t} top-10% | {t} best-of-{k} |"))).AppendLine(" non-finite | s/network |");
        md.Append("|---|").Append(string.Concat(targets.Select(_ => "---:|---:|---:|---:|"))).AppendLine("---:|---:|");
        foreach (var c in table)
        {
            var seconds = rows.Select(r => r.Record.Metrics.TryGetValue(SecondsPrefix + c.Proxy, out var s) ? s : double.NaN).Where(double.IsFinite).ToList();
            md.Append($"| {c.Proxy} |");
            foreach (var t in targets)
            {
                var a = c.Targets[t];
                md.Append($" {F(a.Kendall)} | {F(a.Spearman)} | {F(a.TopOverlap, "F2")} | {F(a.BestOf, "F2")} |");
            }
            md.AppendLine($" {c.NonFinite} | {(seconds.Count > 0 ? F(seconds.Average(), "F4") : "")} |");
        }
        var references = CorrelationTable.References(items, targets);
        md.Append("| *random pick (mean)* |").Append(string.Concat(targets.Select(t => $" | | | {F(references[t].Mean, "F2")} |"))).AppendLine(" | |");
        md.Append($"| *oracle best-of-{k}* |").Append(string.Concat(targets.Select(t => $" | | | {F(references[t].OracleBestOf, "F2")} |"))).AppendLine(" | |");
        md.AppendLine();

        var tau = Path.Combine(outDir, "kendall_tau.png");
        Plots.GroupedBars(tau, $"Kendall τ of each proxy with test accuracy ({counted})", "Kendall τ-b",
            proxies, targets, (p, t) => table.First(c => c.Proxy == p).Targets[t].Kendall);
        figures.Add(tau);
        md.AppendLine("![Kendall tau per proxy and dataset](kendall_tau.png)").AppendLine();

        var first = targets[0];
        md.AppendLine($"## Scores against {first} test accuracy").AppendLine();
        foreach (var p in proxies)
        {
            var file = $"scatter_{Sanitize(p)}.png";
            bool log = Plots.Scatter(Path.Combine(outDir, file), $"{p} at initialisation vs {first} test accuracy", $"{p} score", $"{first} test accuracy (%)",
                items.Select(i => i.Scores.TryGetValue(p, out var v) ? v : double.NaN).ToList(),
                items.Select(i => i.Accuracies.TryGetValue(first, out var a) ? a : double.NaN).ToList());
            figures.Add(Path.Combine(outDir, file));
            md.AppendLine($"![{p}]({file}){(log ? " (log-scale scores)" : "")}").AppendLine();
        }
    }

    private static void Search(IReadOnlyList<StoredResult> results, string outDir, StringBuilder md, List<string> figures)
    {
        var scores = results.Where(r => r.Record.ItemKey.StartsWith("score/", StringComparison.Ordinal))
            .Select(r => (Arch: r.Record.Arch ?? "", Score: r.Record.Scores.TryGetValue("score", out var s) ? s : double.NaN))
            .ToList();
        var ranked = scores.OrderBy(s => double.IsFinite(s.Score) ? 0 : 1).ThenByDescending(s => double.IsFinite(s.Score) ? s.Score : 0).ToList();
        var trained = results.Where(r => r.Record.ItemKey.StartsWith("train/", StringComparison.Ordinal))
            .ToDictionary(r => r.Record.Arch ?? "", r => r.Record.Metrics);
        md.AppendLine($"## Candidates by score ({ranked.Count})").AppendLine();
        md.AppendLine("| rank | arch | score | val acc | test acc |").AppendLine("|---:|---|---:|---:|---:|");
        foreach (var (c, i) in ranked.Select((c, i) => (c, i)))
        {
            trained.TryGetValue(c.Arch, out var m);
            string Acc(string k) => m is not null && m.TryGetValue(k, out var v) ? Percent(v) : "";
            md.AppendLine($"| {i + 1} | `{c.Arch}` | {F(c.Score, "G4")} | {Acc("val_accuracy")} | {Acc("test_accuracy")} |");
        }
        md.AppendLine();
        var file = "score_by_rank.png";
        Plots.ScoreByRank(Path.Combine(outDir, file), "Search: candidate scores in rank order", "score (λ_min of the NTK)", ranked.Select(c => c.Score).ToList());
        figures.Add(Path.Combine(outDir, file));
        md.AppendLine($"![score by rank]({file})").AppendLine();
    }

    private static void Truth(IReadOnlyList<StoredResult> results, string outDir, StringBuilder md, List<string> figures)
    {
        var entries = results.Where(r => r.Record.ItemKey.StartsWith("truth/", StringComparison.Ordinal))
            .Select(r => (Arch: r.Record.Arch ?? "", Test: r.Record.Metrics.TryGetValue("test_accuracy", out var t) ? t : double.NaN))
            .OrderByDescending(e => double.IsFinite(e.Test) ? e.Test : double.MinValue).ToList();
        md.AppendLine($"## Trained architectures ({entries.Count})").AppendLine();
        md.AppendLine("| rank | arch | test acc |").AppendLine("|---:|---|---:|");
        foreach (var (e, i) in entries.Select((e, i) => (e, i)))
            md.AppendLine($"| {i + 1} | `{e.Arch}` | {(double.IsFinite(e.Test) ? Percent(e.Test) : "diverged")} |");
        md.AppendLine();
        var file = "accuracy_by_rank.png";
        Plots.ScoreByRank(Path.Combine(outDir, file), "Trained ground truth: test accuracy in rank order", "test accuracy (fraction)", entries.Select(e => e.Test).ToList());
        figures.Add(Path.Combine(outDir, file));
        md.AppendLine($"![accuracy by rank]({file})").AppendLine();
    }

    private static string Percent(double fraction) => (100 * fraction).ToString("F2", CultureInfo.InvariantCulture) + "%";

    private static string Sanitize(string name) => string.Concat(name.Select(ch => char.IsLetterOrDigit(ch) || ch == '_' ? ch : '_'));
}
