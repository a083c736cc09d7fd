using System.Globalization;
using System.Text;
using NasSharp.Benchmarks;
using NasSharp.Experiments;
using NasSharp.Search;
using NasSharp.Search.Nasi;
using NasSharp.Store;
using Plot = ScottPlot.Plot;

namespace NasSharp.Reports;

/// <summary>
/// A Markdown report with PNG figures for a stored run, one section writer per <see cref="ExperimentKind"/>: a search
/// (the candidates by score, or a relaxed search's architecture distribution and trace norm per step), a correlation run
/// (the agreement table, a Kendall τ chart and a scatter plot per proxy), a truth run (accuracy by rank), a search
/// comparison (the table and each method's accuracy per seed), a training comparison, a training or an NTK run. A run
/// still in progress is reported from what its journal holds so far.
/// </summary>
public static class RunReport
{
    public sealed record Written(string Markdown, IReadOnlyList<string> Figures);

    private sealed record Report(RunInfo Run, IRunJournal Journal, StringBuilder Md, Action<string, Plot> Sink)
    {
        /// <summary>The run's output when it completed, else null (it is reported from its journal).</summary>
        public T? Output<T>() where T : class => StoredItems.Output<T>(Run);

        /// <summary>Hands a figure to the format being written, under the file name the Markdown refers to it by.</summary>
        public void Draw(string file, Plot plot) => Sink(file, plot);

        public void Figure(string file, string alt, string? note = null) => Md.AppendLine($"![{alt}]({file}){note}").AppendLine();
    }

    /// <summary>Writes <c>report.md</c> and its figures as PNG files into <paramref name="outDir"/>.</summary>
    public static Written Write(RunInfo run, IReadOnlyList<StoredResult> results, string outDir)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(results);
        Directory.CreateDirectory(outDir);
        var figures = new List<string>();
        var md = Markdown(run, results, (file, plot) =>
        {
            var path = Path.Combine(outDir, file);
            Plots.SavePng(plot, path);
            figures.Add(path);
        });
        var report = Path.Combine(outDir, "report.md");
        File.WriteAllText(report, md);
        return new Written(report, figures);
    }

    /// <summary>
    /// Writes the same report as one self-contained HTML file (<see cref="HtmlReport"/>: figures inline as SVG, sortable
    /// tables); the file appears whole or not at all.
    /// </summary>
    public static string WriteHtml(RunInfo run, IReadOnlyList<StoredResult> results, string path)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(results);
        var svgs = new Dictionary<string, string>(StringComparer.Ordinal);
        var md = Markdown(run, results, (file, plot) => svgs[file] = Plots.Svg(plot));
        var html = HtmlReport.Render($"NasSharp report: run {run.Id} ({run.Kind})", md, svgs);
        return AtomicFile.Write(path, w => w.Write(html));
    }

    /// <summary>The report's Markdown; each figure goes to <paramref name="sink"/> with the file name the Markdown gives it.</summary>
    private static string Markdown(RunInfo run, IReadOnlyList<StoredResult> results, Action<string, Plot> sink)
    {
        var r = new Report(run, StoreJournal.Read(results), new StringBuilder(), sink);
        var md = r.Md;
        md.AppendLine($"# NasSharp report: run {run.Id} ({run.Kind})").AppendLine();
        md.AppendLine($"- command: `{run.Command}`");
        md.AppendLine($"- status: {run.Status.ToString().ToLowerInvariant()}, seed {run.Seed}, started {run.StartedUtc:u}" +
                      (run.EndedUtc is { } e ? $", ended {e:u} ({(e - run.StartedUtc).TotalMinutes:F1} min)" : ""));
        md.AppendLine($"- versions: {string.Join(", ", run.Versions.Select(kv => $"{kv.Key} {kv.Value}"))}");
        md.AppendLine($"- results: {results.Count}").AppendLine();
        var config = RunConfiguration.Settings(run.ConfigJson);
        if (config.Count > 0)
        {
            md.AppendLine("## Configuration").AppendLine();
            md.AppendLine("| setting | value |").AppendLine("|---|---|");
            foreach (var (key, value) in config) md.AppendLine($"| {key} | {Code(value)} |");
            md.AppendLine();
        }

        Action<Report>? section = StoredItems.Kind(run) switch
        {
            ExperimentKind.Search => Search,
            ExperimentKind.Correlate => Correlation,
            ExperimentKind.Truth => Truth,
            ExperimentKind.BenchSearch => Comparison,
            ExperimentKind.BenchTrain => TrainingComparison,
            ExperimentKind.Train => Train,
            ExperimentKind.Ntk => Ntk,
            ExperimentKind.Isometry => Isometry,
            ExperimentKind.Planted => Planted,
            ExperimentKind.SpectralError => SpectralError,
            ExperimentKind.ActivationSearch => ActivationSearch,
            ExperimentKind.Fairness => Fairness,
            _ => null,
        };
        try
        {
            if (section is null) md.AppendLine($"Runs of kind '{run.Kind}' have no report; `nas runs show {run.Id}` lists their results.");
            else section(r);
        }
        catch (StoreException ex)
        {
            // A run stored by an older NasSharp keeps its results in another shape.
            md.AppendLine($"This run's results cannot be read as a {run.Kind} run of this version ({ex.Message}); `nas runs show {run.Id}` lists them.");
        }
        catch (System.Text.Json.JsonException ex)
        {
            md.AppendLine($"This run's output cannot be read as a {run.Kind} run of this version ({ex.Message}); `nas runs show {run.Id}` lists it.");
        }
        return md.ToString();
    }

    /// <summary>An architecture in a table cell: a code span whose '|' (NAS-Bench-201's separator) does not end the cell.</summary>
    private static string Code(string arch) => $"`{arch.Replace("|", "\\|", StringComparison.Ordinal)}`";

    private static string F(double? v, string format = "F3") =>
        v is { } x && double.IsFinite(x) ? x.ToString(format, CultureInfo.InvariantCulture) : v is null ? "" : "non-finite";

    private static void Search(Report r)
    {
        var md = r.Md;
        var output = r.Output<SearchOutput>();
        var steps = StoredItems.Steps(output, r.Journal);
        var ranked = StoredItems.Ranked(output, r.Journal);
        if (output is not null)
        {
            md.AppendLine($"## {output.Strategy} search on {output.Space} ({output.Dataset})").AppendLine();
            md.AppendLine($"Selected: `{output.Arch ?? $"none ({output.NoArchReason ?? NasSharp.Search.SearchOutcome.NoFiniteCandidate})"}`" +
                (output.TestAccuracyPercent is { } t ? $", validation {F(output.ValAccuracyPercent, "F2")}%, test {F(t, "F2")}% after training" : "") + ".").AppendLine();
            if (output.TableTestAccuracyPercent is { } table)
                md.AppendLine($"Its test accuracy in the space's table: {string.Join(", ", table.Select(kv => $"{kv.Key} {F(kv.Value, "F2")}%"))}.").AppendLine();
            if (output.Derivations.Count > 1)
            {
                md.AppendLine("| derivation rule | architecture | table test accuracy (%) |").AppendLine("|---|---|---|");
                foreach (var d in output.Derivations)
                    md.AppendLine($"| {d.Rule} | {Code(d.Arch)} | {(d.TestAccuracyPercent is { } a ? string.Join(", ", a.Select(kv => $"{kv.Key} {F(kv.Value, "F2")}")) : "")} |");
                md.AppendLine();
            }
            md.AppendLine($"Search {F(output.SearchSeconds, "F1")} s (scoring {F(output.ScoringSeconds, "F1")} s, training {F(output.TrainingSeconds, "F1")} s).").AppendLine();
            foreach (var group in output.Alpha)
            {
                var operations = group.Edges.SelectMany(e => e.Keys).Distinct().ToList();
                md.AppendLine($"### Architecture distribution of '{group.Name}' (softmax of the final logits)").AppendLine();
                md.AppendLine("| edge | " + string.Join(" | ", operations) + " |").AppendLine("|---:|" + string.Concat(operations.Select(_ => "---:|")));
                for (int e = 0; e < group.Edges.Count; e++)
                    md.AppendLine($"| {e} | " + string.Join(" | ", operations.Select(op => F(group.Edges[e].GetValueOrDefault(op, double.NaN), "F4"))) + " |");
                md.AppendLine();
                var file = $"alpha_{Sanitize(group.Name)}.png";
                r.Draw(file, Plots.GroupedBars($"Probability of each operation per edge ({group.Name})", "probability",
                    [.. Enumerable.Range(0, group.Edges.Count).Select(e => $"edge {e}")], operations,
                    (edge, op) => group.Edges[int.Parse(edge[5..], CultureInfo.InvariantCulture)].GetValueOrDefault(op, double.NaN)));
                r.Figure(file, $"alpha of {group.Name}");
            }
        }
        if (steps.Count > 0)
        {
            md.AppendLine($"## Steps ({steps.Count})").AppendLine();
            md.AppendLine($"Trace norm of the sampled architectures: min {F(steps.Min(s => s.TraceNorm), "G4")}, mean {F(steps.Average(s => s.TraceNorm), "G4")}, " +
                $"max {F(steps.Max(s => s.TraceNorm), "G4")}; ν of the last step {F(steps[^1].Nu, "G4")}.").AppendLine();
            var x = steps.Select(s => (double)s.Step).ToList();
            r.Draw("trace_norm.png", Plots.Lines("Trace norm of each step's sampled architecture, and ν", "step", "trace norm",
                [("trace norm", x, [.. steps.Select(s => s.TraceNorm)])], ("ν", [("ν (right axis)", x, [.. steps.Select(s => s.Nu)])])));
            r.Figure("trace_norm.png", "trace norm per step");
        }
        if (ranked.Count > 0)
        {
            md.AppendLine($"## Candidates by score ({ranked.Count})").AppendLine();
            md.AppendLine("| rank | arch | score | val acc (%) | test acc (%) |").AppendLine("|---:|---|---:|---:|---:|");
            foreach (var c in ranked)
                md.AppendLine($"| {c.Rank} | {Code(c.Arch)} | {F(c.Score, "G4")} | {F(c.ValAccuracyPercent, "F2")} | {F(c.TestAccuracyPercent, "F2")} |");
            md.AppendLine();
            r.Draw("score_by_rank.png", Plots.ScoreByRank("Search: candidate scores in rank order", "score", [.. ranked.Select(c => c.Score)]));
            r.Figure("score_by_rank.png", "score by rank");
        }
        if (output is null && steps.Count == 0 && ranked.Count == 0) md.AppendLine("Nothing stored yet.");
    }

    private static void Correlation(Report r)
    {
        var md = r.Md;
        var records = StoredItems.Evaluations(r.Journal);
        var items = CorrelationExperiment.Scored(records);
        var proxies = items.SelectMany(i => i.Scores.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        var targets = items.SelectMany(i => i.Accuracies.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        if (items.Count < 2 || proxies.Count == 0 || targets.Count == 0)
        {
            md.AppendLine("Not enough scored architectures for correlations yet.");
            return;
        }
        var table = CorrelationTable.Compute(items, proxies, targets);
        int architectures = records.Select(x => x.Index).Distinct().Count();
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
            var seconds = records.Where(x => x.Seconds.ContainsKey(c.Proxy)).Select(x => x.Seconds[c.Proxy]).ToList();
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

        r.Draw("kendall_tau.png", Plots.GroupedBars($"Kendall τ of each proxy with test accuracy ({counted})", "Kendall τ-b",
            proxies, targets, (p, t) => table.First(c => c.Proxy == p).Targets[t].Kendall));
        r.Figure("kendall_tau.png", "Kendall tau per proxy and dataset");

        var first = targets[0];
        var firstItems = items.Where(i => i.Accuracies.ContainsKey(first)).ToList();
        md.AppendLine($"## Scores against {first} test accuracy").AppendLine();
        foreach (var p in proxies)
        {
            var file = $"scatter_{Sanitize(p)}.png";
            var (plot, log) = Plots.Scatter($"{p} at initialisation vs {first} test accuracy", $"{p} score", $"{first} test accuracy (%)",
                [.. firstItems.Select(i => i.Scores.GetValueOrDefault(p, double.NaN))], [.. firstItems.Select(i => i.Accuracies[first])]);
            r.Draw(file, plot);
            r.Figure(file, p, log ? " (log-scale scores)" : null);
        }
    }

    private static void Truth(Report r)
    {
        var entries = StoredItems.Trained(r.Journal)
            .OrderByDescending(e => e.TestAccuracyPercent ?? double.MinValue).ToList();
        TrainedTable(r, "Trained architectures", entries.Select(e => ("", e.Arch, e.ValidationAccuracyPercent, e.TestAccuracyPercent, e.Diverged)).ToList());
        r.Draw("accuracy_by_rank.png", Plots.ScoreByRank("Trained ground truth: test accuracy in rank order", "test accuracy (%)",
            [.. entries.Select(e => e.TestAccuracyPercent ?? double.NaN)]));
        r.Figure("accuracy_by_rank.png", "accuracy by rank");
    }

    private static void TrainedTable(Report r, string title, IReadOnlyList<(string Role, string Arch, double? Val, double? Test, bool Diverged)> rows)
    {
        bool roles = rows.Any(x => x.Role.Length > 0);
        r.Md.AppendLine($"## {title} ({rows.Count})").AppendLine();
        r.Md.AppendLine(roles ? "| rank | role | arch | val acc (%) | test acc (%) |" : "| rank | arch | val acc (%) | test acc (%) |")
            .AppendLine(roles ? "|---:|---|---|---:|---:|" : "|---:|---|---:|---:|");
        foreach (var (row, i) in rows.Select((row, i) => (row, i)))
            r.Md.AppendLine($"| {i + 1} |{(roles ? $" {row.Role} |" : "")} {Code(row.Arch)} | {F(row.Val, "F2")} | {(row.Diverged ? "diverged" : F(row.Test, "F2"))} |");
        r.Md.AppendLine();
    }

    private static void Comparison(Report r)
    {
        var md = r.Md;
        var output = r.Output<ComparisonOutput>();
        IReadOnlyList<MethodSummary> methods;
        IReadOnlyList<string> targets;
        if (output is not null) (methods, targets) = (output.Methods, output.Targets);
        else
        {
            // In progress: the (method, seed) searches finished so far.
            var runs = StoredItems.MethodRuns(null, r.Journal);
            targets = runs.SelectMany(x => x.TestAccuracyPercent.Keys).Distinct().ToList();
            methods = [.. runs.GroupBy(x => x.Method).Select(g => new MethodSummary(g.Key, g.Count(),
                targets.ToDictionary(t => t, t => MeanStd.Of(g.Select(x => x.TestAccuracyPercent[t]))), g.Average(x => x.Seconds), [.. g]))];
        }
        if (methods.Count == 0)
        {
            md.AppendLine("No search has finished yet.");
            return;
        }
        md.AppendLine("## Test accuracy (%) of the architecture each method found, mean ± std over seeds").AppendLine();
        md.AppendLine("| method | seeds | " + string.Join(" | ", targets) + " | search s (mean) | " + $"{targets[0]} per seed |");
        md.AppendLine("|---|---:|" + string.Concat(targets.Select(_ => "---:|")) + "---:|---|");
        foreach (var m in methods)
            md.AppendLine($"| {m.Method} | {m.Seeds} | " + string.Join(" | ", targets.Select(t => m.TestAccuracyPercent[t].Format(m.Seeds))) +
                $" | {F(m.SearchSeconds, "F0")} | {string.Join(", ", m.Runs.Select(x => F(x.TestAccuracyPercent[targets[0]], "F2")))} |");
        if (output is not null)
        {
            md.AppendLine("| *uniformly random architecture (exact)* | – | " + string.Join(" | ", targets.Select(t => F(output.UniformRandom[t].Mean, "F2"))) + " | – | |");
            foreach (var (name, figure) in output.Published)
                md.AppendLine($"| *{name}* | – | " + string.Join(" | ", targets.Select(t => figure.Targets.TryGetValue(t, out var v) ? F(v, "F2") : "")) + " | – | |");
        }
        md.AppendLine();
        foreach (var target in targets)
        {
            var file = $"accuracy_{Sanitize(target)}.png";
            IReadOnlyList<(string, double)> references = output is null ? []
                : [("uniformly random architecture", output.UniformRandom[target].Mean),
                   .. output.Published.Where(p => p.Value.Targets.ContainsKey(target)).Select(p => (p.Key, p.Value.Targets[target]))];
            r.Draw(file, Plots.Strip($"{target}: each seed's found architecture (line: mean)", $"{target} test accuracy (%)",
                [.. methods.Select(m => (m.Method, (IReadOnlyList<double>)[.. m.Runs.Select(x => x.TestAccuracyPercent[target])]))], references));
            r.Figure(file, $"{target} accuracy per method and seed");
        }
    }

    private static void TrainingComparison(Report r)
    {
        var output = r.Output<TrainingComparisonOutput>();
        List<(string Role, string Arch, double? Val, double? Test, bool Diverged)> rows = output?.Trained.Select(t => (t.Role, t.Arch, t.ValAccuracyPercent, t.TestAccuracyPercent, t.Diverged)).ToList()
            ?? [.. r.Journal.All<TruthEntry>("truth/").Select(x => (x.Value.Index == 0 ? "found" : "random", x.Value.Arch, x.Value.ValidationAccuracyPercent, x.Value.TestAccuracyPercent, x.Value.Diverged))];
        if (output is not null)
            r.Md.AppendLine($"{output.Strategy} on {output.Space} ({output.Dataset}) found `{output.Arch}` in {F(output.SearchSeconds, "F0")} s; trained for " +
                $"{output.Epochs} epochs on {output.TrainImages} images with {string.Join(", ", output.TrainedSpace.Select(kv => $"{kv.Key} {kv.Value}"))}: " +
                $"rank {output.FoundRank} of {output.Trained.Count} by test accuracy (random: {F(output.RandomTestAccuracyPercentMean, "F2")} ± {F(output.RandomTestAccuracyPercentStd, "F2")}%).").AppendLine();
        TrainedTable(r, "Trained architectures", rows);
        r.Draw("trained.png", Plots.GroupedBars("Test accuracy of the found and the random architectures", "test accuracy (%)",
            [.. rows.Select((x, i) => $"{x.Role} {i}")], ["test accuracy"], (name, _) => rows[int.Parse(name.Split(' ')[1], CultureInfo.InvariantCulture)].Test ?? double.NaN));
        r.Figure("trained.png", "test accuracy of the trained architectures");
    }

    private static void Train(Report r)
    {
        if (r.Output<TrainOutput>() is not { } o) { r.Md.AppendLine("The training did not finish."); return; }
        r.Md.AppendLine($"`{o.Arch}` on {o.Dataset}: validation {F(o.ValAccuracyPercent, "F2")}%, test {F(o.TestAccuracyPercent, "F2")}%{(o.Diverged ? " (diverged)" : "")}, {F(o.Seconds, "F1")} s.").AppendLine();
        r.Md.AppendLine("| epoch | train loss | train acc (%) | val acc (%) | s |").AppendLine("|---:|---:|---:|---:|---:|");
        foreach (var e in o.Epochs) r.Md.AppendLine($"| {e.Epoch} | {F(e.TrainLoss, "F4")} | {F(e.TrainAccuracyPercent, "F2")} | {F(e.ValAccuracyPercent, "F2")} | {F(e.Seconds, "F1")} |");
        r.Draw("training_loss.png", Plots.Lines($"Training loss of {o.Arch}", "epoch", "mean cross-entropy",
            [("train loss", [.. o.Epochs.Select(e => (double)e.Epoch)], [.. o.Epochs.Select(e => e.TrainLoss)])]));
        r.Md.AppendLine();
        r.Figure("training_loss.png", "training loss per epoch");
    }

    private static void Ntk(Report r)
    {
        if (r.Output<NtkResult>() is not { } o) { r.Md.AppendLine("The computation did not finish."); return; }
        r.Md.AppendLine($"`{o.Arch}` on {o.Batch} {o.Dataset} inputs ({o.Method} method): λ_min {F(o.LambdaMin, "G6")}, λ_max {F(o.LambdaMax, "G6")}, " +
            $"trace {F(o.Trace, "G6")}, condition {F(o.Condition, "G6")}{(o.NonFiniteReason is { } why ? $" — not finite: {why}" : "")}.");
    }

    private static void Isometry(Report r)
    {
        if (r.Output<IsometryOutput>() is not { } o) { r.Md.AppendLine("The computation did not finish."); return; }
        var md = r.Md;
        md.AppendLine($"## Mean field at σ_w² = {F(o.SigmaW2, "G4")}, σ_b² = {F(o.SigmaB2, "G4")}").AppendLine();
        md.AppendLine("| activation | q* | χ₁ | phase | ξ_q | c* | ξ_c | critical σ_w² at this σ_b² | q* there |").AppendLine("|---|---:|---:|---|---:|---:|---:|---:|---:|");
        foreach (var (p, e) in o.Points.Zip(o.EdgeOfChaos))
            md.AppendLine($"| {p.Activation} | {F(p.QStar, "G4")} | {F(p.Chi1, "F4")} | {p.Phase.ToString().ToLowerInvariant()} | {F(p.XiQ, "G4")} | {F(p.CStar, "F4")} | {F(p.XiC, "G4")} | " +
                $"{F(e.SigmaW2, "F4")} | {F(e.QStar, "G4")} |");
        var notes = o.Points.Zip(o.EdgeOfChaos).SelectMany(x => new[] { x.First.QStarReason, x.First.CStarReason, x.Second.Reason }.OfType<string>()
            .Distinct().Select(why => $"{x.First.Activation}: {why}")).ToList();
        md.AppendLine().AppendLine("Notes: " + (notes.Count == 0 ? "none." : string.Join("; ", notes) + ".")).AppendLine();
        // Only continuous crossings χ₁ = 1: where χ₁ jumps over 1 (q* vanishing) there is no edge of chaos to draw.
        var curves = o.Phases.Select(d => (d.Activation, Edge: d.EdgeOfChaos.Where(e => e.Reason is null && double.IsFinite(e.SigmaW2)).ToList()))
            .Where(c => c.Edge.Count > 0).ToList();
        r.Draw("phase_diagram.png", Plots.Lines("Edge of chaos χ₁ = 1: ordered left of each curve, chaotic right", "σ_w²", "σ_b²",
            [.. curves.Select(c => (c.Activation, (IReadOnlyList<double>)[.. c.Edge.Select(e => e.SigmaW2)], (IReadOnlyList<double>)[.. c.Edge.Select(e => e.SigmaB2)]))]));
        r.Figure("phase_diagram.png", "phase diagram: the edge of chaos per activation",
            $" (σ_b² rows where χ₁ only jumps over 1 or never reaches it are left out: {string.Join(", ", o.Phases.Select(d => $"{d.Activation} {d.EdgeOfChaos.Count(e => e.Reason is not null)} of {d.EdgeOfChaos.Count}"))})");
        if (o.Spectra.Count == 0) return;
        var first = o.Spectra[0];
        md.AppendLine($"## Jacobian spectra at the edge of chaos (σ_b² = {F(first.SigmaB2, "G3")}, depth {first.Depth})").AppendLine();
        md.AppendLine("| activation | layer | weights | σ_w² | N | input q | ⟨s²⟩ | χ₁^L | spread Var(s²)/⟨s²⟩² | predicted spread | s_max | s_min |")
            .AppendLine("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var s in o.Spectra)
            md.AppendLine($"| {s.Activation} | {s.Layer} | {s.Weights.ToString().ToLowerInvariant()} | {F(s.SigmaW2, "F4")} | {s.Dimension} | {F(s.InputVariance, "G4")} | {F(s.MeanSquare, "G4")} | " +
                $"{F(s.Chi1PowerDepth, "G4")} | {F(s.Spread, "G4")} | {F(s.PredictedSpread, "G4")} | {F(s.MaxSingularValue, "G4")} | {F(s.MinSingularValue, "G4")} |");
        md.AppendLine();
        r.Draw("jacobian_spectra.png", Plots.Lines("Jacobian singular values at criticality (isometry: flat at 1)",
            "quantile (0 = largest singular value)", "s / √⟨s²⟩",
            [.. o.Spectra.Where(s => s.SingularValues.Count > 1).Select(s => ($"{s.Activation} {s.Layer} {s.Weights.ToString().ToLowerInvariant()}",
                (IReadOnlyList<double>)[.. s.SingularValues.Select((_, i) => i / (double)(s.SingularValues.Count - 1))],
                (IReadOnlyList<double>)[.. s.SingularValues.Select(v => v / Math.Sqrt(s.MeanSquare))]))]));
        r.Figure("jacobian_spectra.png", "Jacobian singular values per activation and initialisation");
    }

    private static void Planted(Report r)
    {
        var md = r.Md;
        if (r.Output<PlantedOutput>() is not { } o)
        {
            md.AppendLine($"{r.Journal.All<PlantedSeedRecord>("seed/").Count} seeds finished; the summary is written when the run completes.");
            return;
        }
        int h = o.Activations.Count;
        var sizes = o.Gap.Select(g => g.ValPoints).ToList();
        string setting = $"h = {h} candidate activations ({string.Join(", ", o.Activations)}), width p = {o.Width}, n_T = {o.TrainPoints} training samples " +
            $"(every candidate interpolates them){(o.Dominant is { } a ? $", the teacher's dominant activation at α* = {a}" : "")}" +
            $"{(o.Noise is { } noise ? $", label noise {noise}" : "")}, the test risk is the population risk, its data term averaged over {o.TestPoints} fresh inputs";
        if (o.Recovery.All(x => PlantedExperiment.Oracles.Contains(x.Method)))
            md.AppendLine("Only what depends on no method was measured (`--gap-only`): the gap and the two oracles.").AppendLine();
        RecoverySection(r, o, setting, sizes);
        GapSection(r, o);
    }

    private static void RecoverySection(Report r, PlantedOutput o, string setting, List<int> sizes)
    {
        var md = r.Md;
        int h = o.Activations.Count;
        md.AppendLine($"## Recovery of argmax α* over {o.Seeds} seeds (%)").AppendLine();
        md.AppendLine($"{setting}; chance is {F(o.Chance, "F0")}%. The test oracle is the α of least " +
            "test risk on the grid: no selection of α from the interpolants can do better. The validation oracle is the α of least " +
            "validation risk on the grid: what selecting α by the validation sample alone picks, the target of the validation-driven searches.").AppendLine();
        md.AppendLine("| method | " + string.Join(" | ", o.Gap.Select(g => $"n_V = {g.ValPoints} ({g.Multiple}h)")) + " |");
        md.AppendLine("|---|" + string.Concat(sizes.Select(_ => "---:|")));
        var methods = o.Recovery.Select(x => x.Method).Distinct().ToList();
        foreach (var method in methods)
            md.AppendLine($"| {method} | " + string.Join(" | ", sizes.Select(n => F(o.Recovery.Single(x => x.Method == method && x.ValPoints == n).RecoveryRate, "F0"))) + " |");
        md.AppendLine();
        r.Draw("recovery.png", Plots.Lines("Recovery of argmax α* against the validation size", "n_V / h", "recovery (%)",
            [.. methods.Select(m => (m, (IReadOnlyList<double>)[.. sizes.Select(n => (double)n / h)], (IReadOnlyList<double>)[.. sizes.Select(n => o.Recovery.Single(x => x.Method == m && x.ValPoints == n).RecoveryRate)]))]));
        r.Figure("recovery.png", "recovery rate per method against n_V");
    }

    private static void GapSection(Report r, PlantedOutput o)
    {
        var md = r.Md;
        md.AppendLine("## Validation–test gap").AppendLine();
        md.AppendLine($"Mean over seeds of sup over the α grid of |validation risk − test risk| of the interpolant θ(α); fitted log-log slope {F(o.GapSlope, "F3")} (theory −1/2).").AppendLine();
        md.AppendLine("| n_V | sup gap |").AppendLine("|---:|---:|");
        foreach (var g in o.Gap) md.AppendLine($"| {g.ValPoints} | {F(g.MeanSupGap, "G4")} |");
        md.AppendLine();
        var logN = o.Gap.Select(g => Math.Log10(g.ValPoints)).ToList();
        var logGap = o.Gap.Select(g => Math.Log10(g.MeanSupGap)).ToList();
        double intercept = logGap.Average() - o.GapSlope * logN.Average();
        r.Draw("gap.png", Plots.Lines($"sup |validation − test risk| against n_V (slope {F(o.GapSlope, "F2")})", "log10 n_V", "log10 sup gap",
            [("measured", logN, logGap), ($"fit, slope {F(o.GapSlope, "F2")}", logN, [.. logN.Select(x => intercept + o.GapSlope * x)])]));
        r.Figure("gap.png", "validation-test gap against n_V on log-log axes");
    }

    private static void SpectralError(Report r)
    {
        if (r.Output<SpectralErrorOutput>() is not { } o) { r.Md.AppendLine("The run did not finish."); return; }
        var sizes = o.Rows.Select(x => x.Samples).Distinct().ToList();
        var methods = o.Rows.Select(x => x.Method).Distinct().ToList();
        r.Md.AppendLine($"## ‖α̂ − α*‖ against n (h = {o.Candidates}, p = {o.Features}, noise {F(o.Noise, "G3")}, mean of {o.Seeds} seeds; seconds in brackets)").AppendLine();
        r.Md.AppendLine("| method | " + string.Join(" | ", sizes.Select(n => $"n = {n}")) + " |").AppendLine("|---|" + string.Concat(sizes.Select(_ => "---:|")));
        foreach (var m in methods)
            r.Md.AppendLine($"| {m} | " + string.Join(" | ", sizes.Select(n => o.Rows.Single(x => x.Method == m && x.Samples == n)).Select(x => $"{F(x.MeanError, "G3")} ({F(x.MeanSeconds, "F4")} s)")) + " |");
        r.Md.AppendLine();
        r.Draw("spectral_error.png", Plots.Lines("Estimator error against the sample size (log-log)", "log10 n", "log10 ‖α̂ − α*‖",
            [.. methods.Select(m => (m, (IReadOnlyList<double>)[.. sizes.Select(n => Math.Log10(n))],
                (IReadOnlyList<double>)[.. sizes.Select(n => Math.Log10(o.Rows.Single(x => x.Method == m && x.Samples == n).MeanError))]))]));
        r.Figure("spectral_error.png", "estimator error against n");
    }

    private static void ActivationSearch(Report r)
    {
        var md = r.Md;
        if (r.Output<ActivationSearchOutput>() is not { } o)
        {
            md.AppendLine($"{r.Journal.All<TruthEntry>("truth/").Count} trainings and {r.Journal.All<ActivationPick>("pick/").Count} searches finished; " +
                "the summary is written when the run completes.");
            return;
        }
        md.AppendLine($"Every one of the {o.Candidates} activation assignments of `{o.Space}` trained with {o.TruthSeeds} seeds ({o.Epochs} epochs) on each dataset: " +
            $"the ground truth is the mean test accuracy over those seeds. Each method's picks (one per search seed, {o.SearchSeeds} seeds) are scored by it; the gap is " +
            $"the best assignment's mean minus the picks' mean (points). n_V = 0: the method reads no validation sample.").AppendLine();
        foreach (var dataset in o.Datasets)
        {
            md.AppendLine($"## {dataset}").AppendLine();
            if (!o.Best.TryGetValue(dataset, out var best)) { md.AppendLine("No assignment has a ground truth (every one diverged).").AppendLine(); continue; }
            md.AppendLine($"Best: {Code(best)} at {F(o.BestTestAccuracyPercent[dataset], "F2")}%.").AppendLine();
            md.AppendLine("| assignment | mean test (%) | std | per seed | mean validation (%) |").AppendLine("|---|---:|---:|---|---:|");
            foreach (var t in o.Truth.Where(t => t.Dataset == dataset))
                md.AppendLine($"| {Code(t.Arch)} | {F(t.MeanTestAccuracyPercent, "F2")} | {F(t.StdTestAccuracyPercent, "F2")} | " +
                    $"{string.Join(", ", t.TestAccuracyPercent.Select(a => a is { } v ? F(v, "F2") : "diverged"))} | {F(t.MeanValidationAccuracyPercent, "F2")} |");
            md.AppendLine();
            md.AppendLine("| method | n_V | picks | mean test of picks (%) | gap (points) |").AppendLine("|---|---:|---|---:|---:|");
            foreach (var m in o.Methods.Where(m => m.Dataset == dataset))
                md.AppendLine($"| {m.Method} | {m.ValPoints} | {string.Join(", ", m.Picks.Select(p => p is null ? "none" : Code(p)))} | {F(m.MeanTestAccuracyPercent, "F2")} | {F(m.GapPoints, "F2")} |");
            md.AppendLine();
            var degraded = o.Degradation.Where(d => d.Dataset == dataset).ToList();
            if (degraded.Count > 0)
                md.AppendLine($"Smallest n_V from which the picks stay within {F(o.TolerancePoints, "F1")} points of the best: " +
                    string.Join("; ", degraded.Select(d => $"{d.Method} {(d.SmallestValPoints is { } n ? (n == 0 ? "(reads none) within" : n.ToString(CultureInfo.InvariantCulture)) : "never")}")) + ".").AppendLine();
            var swept = o.Methods.Where(m => m.Dataset == dataset && m.ValPoints > 0 && m.GapPoints is not null).GroupBy(m => m.Method).ToList();
            var file = $"gap_{Sanitize(dataset)}.png";
            r.Draw(file, Plots.Lines($"{dataset}: gap of the picks to the best assignment", "log2 n_V", "gap (points)",
                [.. swept.Select(g => (g.Key, (IReadOnlyList<double>)[.. g.Select(m => Math.Log2(m.ValPoints))], (IReadOnlyList<double>)[.. g.Select(m => m.GapPoints!.Value)]))]));
            r.Figure(file, $"gap of each method's picks against n_V on {dataset}");
        }
    }

    private static void Fairness(Report r)
    {
        var md = r.Md;
        if (r.Output<FairnessOutput>() is not { } o)
        {
            md.AppendLine($"{r.Journal.All<FairnessRun>("run/").Count} supernets trained and evaluated; the summary is written when the run completes.");
            return;
        }
        md.AppendLine($"Single-path `{o.Space}` supernets trained on {o.TrainImages} {o.Dataset} images ({o.Epochs} epochs of batch {o.BatchSize}: {o.StepsPerRun} optimiser " +
            $"steps and the same minibatches for every regime), then the same {o.Cells.Count} sampled cells evaluated with inherited weights (batch norm " +
            $"recalibrated) on {o.ValidationImages} validation images and ranked against the table's {o.Target} test accuracy.").AppendLine();
        md.AppendLine($"| regime | seeds | Kendall τ | Spearman ρ | selected {o.Target} (%) | minutes per run |").AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var row in o.Regimes)
            md.AppendLine($"| {row.Regime} | {row.Runs} | {F(row.KendallMean)} ± {F(row.KendallSd)} | {F(row.SpearmanMean)} ± {F(row.SpearmanSd)} | " +
                $"{F(row.SelectedTestAccuracyMean, "F2")} | {F(row.MinutesPerRun, "F1")} |");
        md.AppendLine();
        md.AppendLine("| regime | seed | τ | ρ | selected | supernet (%) | table (%) | passes | s train | s evaluate |").AppendLine("|---|---:|---:|---:|---|---:|---|---:|---:|---:|");
        foreach (var run in o.Runs)
            md.AppendLine($"| {run.Regime} | {run.Seed} | {F(run.Kendall)} | {F(run.Spearman)} | {Code(run.Selected)} | {F(run.SelectedSupernetAccuracyPercent, "F1")} | " +
                $"{(run.SelectedTestAccuracyPercent is { } t ? string.Join(" / ", t.Select(kv => $"{kv.Key} {F(kv.Value, "F2")}")) : "")} | {run.Passes} | " +
                $"{F(run.TrainSeconds, "F0")} | {F(run.EvaluationSeconds, "F0")} |");
        md.AppendLine();
        var truth = o.Cells.Select(c => c.TestAccuracyPercent[o.Target]).ToList();
        foreach (var regime in o.Regimes.Select(x => x.Regime))
        {
            var runs = o.Runs.Where(x => x.Regime == regime && !x.Diverged).ToList();
            if (runs.Count == 0) continue;
            var mean = Enumerable.Range(0, o.Cells.Count).Select(i => runs.Average(x => x.SupernetAccuracyPercent[i])).ToList();
            var file = $"supernet_{Sanitize(regime)}.png";
            r.Draw(file, Plots.Scatter($"{regime}: supernet against table accuracy ({runs.Count} seed(s))", "supernet accuracy (%), mean over seeds",
                $"table {o.Target} test accuracy (%)", mean, truth).Plot);
            r.Figure(file, $"{regime}: supernet accuracy of each cell against its table accuracy");
        }
    }

    private static string Sanitize(string name) => string.Concat(name.Select(ch => char.IsLetterOrDigit(ch) || ch == '_' ? ch : '_'));
}
