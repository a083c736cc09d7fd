using System.CommandLine;
using System.Text.Json;
using NasSharp.Benchmarks;
using NasSharp.Data;
using NasSharp.Networks;
using NasSharp.Proxies;
using NasSharp.Reports;
using NasSharp.Spaces;
using NasSharp.Store;
using Spectre.Console;
using TorchSharp;

namespace NasSharp.Cli.Commands;

/// <summary>
/// <c>nas bench correlate</c>: every proxy at initialisation on N sampled architectures, against the
/// NAS-Bench-201 table (nb201) or a stored truth run (mlp); Kendall τ, Spearman ρ and top-10% overlap.
/// </summary>
public static class CorrelateCommand
{
    private static readonly CorrelationTarget[] Nb201Targets = [new("cifar10", 10), new("cifar100", 100), new("imagenet16", 120)];

    public static Command Create(CliConsole console)
    {
        var cmd = new Command("correlate", "Rank correlation of zero-cost proxies with trained accuracy (resumable: rerun the same command after an interruption).");
        var space = new Option<string>("--space") { Description = "nb201 (NAS-Bench-201 table) or mlp (with --truth).", DefaultValueFactory = _ => "nb201" };
        var n = new Option<int>("--n") { Description = "Number of sampled architectures (mlp: at most the truth run's).", DefaultValueFactory = _ => 200 };
        var proxies = new Option<string>("--proxies") { Description = $"Comma-separated proxies: {string.Join(", ", ProxyRegistry.Names)}.", DefaultValueFactory = _ => string.Join(",", ProxyRegistry.Names) };
        var batch = new Option<int>("--batch") { Description = "Inputs per evaluation.", DefaultValueFactory = _ => 64 };
        var data = new Option<string>("--data") { Description = "real (training images of --dataset) or gaussian (N(0,1) inputs, random labels).", DefaultValueFactory = _ => "real" };
        var truth = new Option<long?>("--truth") { Description = "mlp: the id of a `nas bench truth` run whose accuracies are the ground truth." };
        var targets = new Option<string?>("--targets") { Description = "nb201: comma-separated subset of cifar10,cifar100,imagenet16 (default all)." };
        var table = new Option<string?>("--table") { Description = "nb201: a CSV with the NAS-Bench-201 columns (default: the data directory's)." };
        var cellBn = new Option<string>("--cell-bn")
        {
            Description = "nb201: batch norm of the cells' ReLU–Conv–BN: affine (the benchmark's trained networks) or search (no scale/shift, batch " +
                "statistics always: the search cells of the benchmark's code and of NASI's supernet).",
            DefaultValueFactory = _ => "affine",
        };
        var seed = SpaceOptions.NewSeed();
        var dataOptions = new DataOptions(cmd);
        dataOptions.Dataset.DefaultValueFactory = _ => "cifar10";
        foreach (var o in new Option[] { space, n, proxies, batch, data, truth, targets, table, cellBn, seed }) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            long s = pr.GetValue(seed);
            int count = pr.GetValue(n), b = pr.GetValue(batch);
            if (count < 2) throw new UsageException("--n must be at least 2.");
            if (b < 2) throw new UsageException("--batch must be at least 2.");
            var selected = ProxyRegistry.Parse(pr.GetValue(proxies)!);
            var device = GlobalOptions.ResolveDevice(pr);
            string cellNorm = pr.GetValue(cellBn)!;
            var networkOptions = cellNorm switch
            {
                "affine" => new NetworkOptions(),
                "search" => new NetworkOptions { Nb201 = new Nb201NetworkOptions { Affine = false, TrackRunningStats = false } },
                var other => throw new UsageException($"--cell-bn {other}: use affine or search."),
            };
            if (cellNorm != "affine" && pr.GetValue(space) != Nb201Space.Name)
                throw new UsageException("--cell-bn applies to --space nb201 only.");

            // Ground truth: the NB201 table or a stored truth run.
            IReadOnlyList<GroundTruthItem> items;
            IReadOnlyList<CorrelationTarget> chosenTargets;
            string dataset = pr.GetValue(dataOptions.Dataset)!;
            switch (pr.GetValue(space))
            {
                case Nb201Space.Name:
                    var nbTable = pr.GetValue(table) is { } path ? Nb201Table.Load(path) : Nb201Table.LoadDefault(DataDirectory.Resolve(pr.GetValue(GlobalOptions.DataDir)).Path);
                    chosenTargets = pr.GetValue(targets) is { } list
                        ? list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(t => Nb201Targets.FirstOrDefault(x => x.Name == t)
                            ?? throw new UsageException($"--targets: unknown '{t}'; use cifar10, cifar100, imagenet16.")).ToArray()
                        : Nb201Targets;
                    if (count > nbTable.Count) throw new UsageException($"--n {count}: the table has {nbTable.Count} cells.");
                    items = nbTable.Sample(count, Seeds.Rng(s, "correlate-sample")).Select((e, i) => new GroundTruthItem(i, e.Arch,
                        chosenTargets.ToDictionary(t => t.Name, t => e.Accuracies.Get(Nb201Names.TryParseDataset(t.Name, out var d) ? d : throw new UsageException(t.Name), Nb201Metric.Test)))).ToList();
                    break;
                case MlpSpace.Name:
                    var truthId = pr.GetValue(truth) ?? throw new UsageException("--space mlp needs --truth RUN_ID (from nas bench truth).");
                    (items, var truthDataset) = LoadTruth(pr, truthId, count, s);
                    if (pr.GetResult(dataOptions.Dataset) is null or { Implicit: true }) dataset = truthDataset;
                    else if (dataset != truthDataset) throw new UsageException($"--dataset {dataset}: truth run {truthId} was trained on {truthDataset}.");
                    chosenTargets = [new CorrelationTarget(truthDataset, DatasetCatalog.Load(truthDataset, DataDirectory.Resolve(pr.GetValue(GlobalOptions.DataDir)).Path).Train.NumClasses)];
                    break;
                default:
                    throw new UsageException($"--space {pr.GetValue(space)}: use nb201 or mlp.");
            }

            // One fixed batch for every architecture.
            var inputsData = dataOptions.Load(pr, console, s, dataset).Train;
            var batchData = NasSharp.Search.EigenSearch.NtkInputs(inputsData, b, Seeds.Derive(s, "correlate-batch"));
            var source = pr.GetValue(data);
            using var scope = torch.NewDisposeScope();
            var (x, y) = batchData.ToTensors(device);
            if (source == "gaussian")
            {
                var gen = new torch.Generator((ulong)Seeds.Derive(s, "gaussian-batch"));
                x = torch.randn(x.shape, generator: gen).to(device);
                y = torch.randint(0, batchData.NumClasses, [b], generator: gen, dtype: torch.ScalarType.Int64).to(device);
            }
            else if (source != "real") throw new UsageException($"--data {source}: use real or gaussian.");

            var config = new { space = pr.GetValue(space), dataset, n = count, proxies = selected.Select(p => p.Name).ToArray(), batch = b, data = source,
                truth = pr.GetValue(truth), targets = chosenTargets.Select(t => t.Name).ToArray(), cell_bn = cellNorm };
            using var recorder = RunRecorder.Start(pr, console, "correlate", config, s, resumable: true);
            if (recorder.Resumed) console.Error.WriteLine($"resuming run {recorder.RunId}: {recorder.ResultCount} evaluations already stored");
            var harness = new ProxyCorrelationHarness(selected, networkOptions, s);
            var journal = new StoreCorrelationJournal(recorder, pr.GetValue(space)!);
            console.WithProgress("correlate", sink =>
            {
                var task = sink.Task($"{selected.Count} proxies × {chosenTargets.Count} targets", items.Count * chosenTargets.Count);
                return harness.Run(items, chosenTargets, x, y, journal,
                    new SyncProgress<(int Done, int Total, string Arch)>(p => task.Report(p.Done, p.Arch)), console.Cancellation);
            });

            var output = Summarise(recorder.Results(), selected, chosenTargets, count, recorder.RunId, s, b, source, pr.GetValue(space)!);
            recorder.Complete(output);
            if (pr.GetValue(GlobalOptions.Json)) console.WriteJson(output);
            else Render(console, output, chosenTargets);
            return 0;
        });
        return cmd;
    }

    private static (IReadOnlyList<GroundTruthItem>, string Dataset) LoadTruth(ParseResult pr, long runId, int count, long seed)
    {
        using var store = ResultsStore.Open(pr.GetValue(GlobalOptions.Store) ?? ResultsStore.DefaultPath());
        var run = store.GetRun(runId) ?? throw new UsageException($"No run {runId} in {store.FilePath}.");
        if (run.Kind != "truth") throw new UsageException($"Run {runId} is a {run.Kind} run, not a truth run.");
        using var config = JsonDocument.Parse(run.ConfigJson);
        var dataset = config.RootElement.GetProperty("dataset").GetString()!;
        dataset = dataset.Split('/')[0];
        var entries = StoreTruthJournal.Read(store.GetResults(runId)).Where(e => e.TestAccuracy is not null).ToList();
        if (entries.Count < count) throw new UsageException($"Truth run {runId} has {entries.Count} trained architectures; ask for at most that many with --n.");
        var chosen = entries.ToArray();
        Seeds.Rng(seed, "correlate-sample").Shuffle(chosen);
        return (chosen.Take(count).Select((e, i) => new GroundTruthItem(i, MlpGenotype.Parse(e.Arch),
            new Dictionary<string, double> { [dataset] = 100 * e.TestAccuracy!.Value })).ToList(), dataset);
    }

    /// <param name="BestOf100">The target's expected value for the proxy's pick among 100 uniformly sampled architectures
    /// (<see cref="CorrelationTable.BestOf"/>; exact, <see cref="NasSharp.Stats.BestOfK"/>).</param>
    public sealed record Agreement(double Kendall, double Spearman, double Top10, double BestOf100);

    public sealed record ProxyOutput(IReadOnlyDictionary<string, Agreement> Targets, int NonFinite, double SecondsPerArch,
        IReadOnlyDictionary<string, double>? Published, string? PublishedStatistic);

    /// <param name="References">Per target: the mean (a random pick) and the oracle best of 100, what the proxies' best-of-100 lie between.</param>
    public sealed record CorrelateOutput(long RunId, string Space, int N, long Seed, int Batch, string Data,
        IReadOnlyDictionary<string, ProxyOutput> Proxies, IReadOnlyDictionary<string, TargetReference> References,
        IReadOnlyDictionary<string, double> SharedSecondsPerArch);

    private static CorrelateOutput Summarise(IReadOnlyList<StoredResult> results, IReadOnlyList<IProxy> proxies, IReadOnlyList<CorrelationTarget> targets,
        int n, long runId, long seed, int batch, string data, string space)
    {
        var rows = results.Where(r => r.Record.ItemKey.StartsWith("arch/", StringComparison.Ordinal)).ToList();
        var items = RunReport.ScoredArchitectures(rows);
        var table = CorrelationTable.Compute(items, proxies.Select(p => p.Name).ToList(), targets.Select(t => t.Name).ToList());
        double PerArch(string key) => rows.Sum(r => r.Record.Metrics.TryGetValue(key, out var v) ? v : 0) / Math.Max(1, n);
        var output = table.ToDictionary(c => c.Proxy, c =>
        {
            PublishedCorrelations.Nb201.TryGetValue(c.Proxy, out var pub);
            return new ProxyOutput(
                c.Targets.ToDictionary(kv => kv.Key, kv => new Agreement(kv.Value.Kendall, kv.Value.Spearman, kv.Value.TopOverlap, kv.Value.BestOf)),
                c.NonFinite, PerArch(RunReport.SecondsPrefix + c.Proxy),
                space == Nb201Space.Name && pub is not null ? targets.ToDictionary(t => t.Name, t => pub.For(t.Name) ?? double.NaN) : null,
                space == Nb201Space.Name ? pub?.Statistic : null);
        });
        var shared = rows.SelectMany(r => r.Record.Metrics.Keys).Where(k => k.StartsWith("shared:", StringComparison.Ordinal)).Distinct()
            .ToDictionary(k => k["shared:".Length..], PerArch);
        var references = CorrelationTable.References(items, targets.Select(t => t.Name).ToList());
        return new CorrelateOutput(runId, space, n, seed, batch, data, output, references, shared);
    }

    private static void Render(CliConsole console, CorrelateOutput o, IReadOnlyList<CorrelationTarget> targets)
    {
        var t = new Table().Title($"{o.Space}: {o.N} architectures, batch {o.Batch} ({o.Data} data), run {o.RunId}").AddColumn("proxy");
        foreach (var target in targets) t.AddColumn($"{target.Name} τ").AddColumn($"{target.Name} ρ").AddColumn($"{target.Name} best/{CorrelationTable.BestOf}");
        t.AddColumn("published").AddColumn("non-finite").AddColumn("s/arch");
        foreach (var (name, p) in o.Proxies)
        {
            var cells = new List<string> { name };
            foreach (var target in targets)
            {
                var a = p.Targets[target.Name];
                cells.Add(a.Kendall.ToString("F3")); cells.Add(a.Spearman.ToString("F3")); cells.Add(a.BestOf100.ToString("F2"));
            }
            cells.Add(p.Published is null ? "" : $"{p.PublishedStatistic} {string.Join(" / ", p.Published.Values.Select(v => v.ToString("F2")))}");
            cells.Add(p.NonFinite.ToString());
            cells.Add(p.SecondsPerArch.ToString("F3"));
            t.AddRow(cells.Select(Markup.Escape).ToArray());
        }
        console.Ansi.Write(t);
        console.Out.WriteLine(string.Join("; ", targets.Select(target =>
            $"{target.Name}: random pick {o.References[target.Name].Mean:F2}, oracle best of {CorrelationTable.BestOf} {o.References[target.Name].OracleBestOf:F2}")));
    }
}

/// <summary>The correlation journal over the results store: item keys <c>arch/i/target</c>.</summary>
public sealed class StoreCorrelationJournal(RunRecorder recorder, string space) : ICorrelationJournal
{
    private readonly HashSet<string> done = recorder.Results().Select(r => r.Record.ItemKey).ToHashSet();

    public bool Has(int index, string target) => done.Contains($"arch/{index}/{target}");

    public void Record(TargetEvaluation e)
    {
        var scores = new Dictionary<string, double?>();
        var metrics = new Dictionary<string, double?> { [RunReport.AccuracyPrefix + e.Target] = e.Accuracy, ["seconds:total"] = e.Evaluation.TotalSeconds };
        var reasons = new List<string>();
        foreach (var r in e.Evaluation.Results)
        {
            // Non-finite and not-applicable scores are stored as NaN with their reason, never as a sentinel.
            scores[r.Name] = r.Score.IsFinite ? r.Score.Value : double.NaN;
            metrics[RunReport.SecondsPrefix + r.Name] = r.Seconds;
            if (!r.Score.IsFinite) reasons.Add($"{r.Name}: {r.Score.Reason}");
        }
        foreach (var stage in e.Evaluation.SharedStages.GroupBy(st => st.Name))
            metrics["shared:" + stage.Key] = stage.Sum(st => st.Seconds);
        recorder.AddResult($"arch/{e.Index}/{e.Target}", e.Arch, scores, metrics, reasons.Count > 0 ? string.Join("; ", reasons) : null, space);
        done.Add($"arch/{e.Index}/{e.Target}");
    }
}
