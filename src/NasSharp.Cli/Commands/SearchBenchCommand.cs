using System.CommandLine;
using NasSharp.Benchmarks;
using NasSharp.Data;
using NasSharp.Networks;
using NasSharp.Search.Nasi;
using NasSharp.Spaces;
using Spectre.Console;

namespace NasSharp.Cli.Commands;

/// <summary><c>nas bench search</c>: NASI against its baselines on NAS-Bench-201 over several seeds.</summary>
public static class SearchBenchCommand
{
    /// <summary>Published NB201 test accuracies (C10 / C100 / IN16) from PAPERS.md and the issue.</summary>
    public static IReadOnlyDictionary<string, double[]> Published { get; } = new Dictionary<string, double[]>
    {
        ["NASI (paper)"] = [93.55, 71.20, 44.84],
        ["EigenNAS (paper)"] = [93.46, 71.42, 45.54],
        ["NASWOT N=1000 (paper)"] = [92.96, 69.98, 44.44],
        ["optimum"] = [94.37, 73.51, 47.31],
    };

    public static Command Create(CliConsole console)
    {
        var cmd = new Command("search", "NASI (FIX, ADA, random labels, Gaussian data) against the eigen strategy, NASWOT and equal-time random search on NAS-Bench-201: the found cells' table accuracies, mean ± std over seeds.");
        var space = new Option<string>("--space") { Description = "Search space (nb201).", DefaultValueFactory = _ => "nb201" };
        var seeds = new Option<int>("--seeds") { Description = "Seeds 1..S per method.", DefaultValueFactory = _ => 5 };
        var methods = new Option<string>("--methods") { Description = $"Comma-separated: {string.Join(", ", SearchComparison.Methods)}.", DefaultValueFactory = _ => string.Join(",", SearchComparison.Methods) };
        var steps = new Option<int>("--steps") { Description = "NASI's T.", DefaultValueFactory = _ => 100 };
        var batch = new Option<int>("--batch") { Description = "NASI's b and the baselines' score batch.", DefaultValueFactory = _ => 64 };
        var cells = new Option<int>("--cells") { Description = "Cells per stage of NASI's supernet (NB201's search network: 5).", DefaultValueFactory = _ => 5 };
        var candidates = new Option<int>("--candidates") { Description = "Cells sampled by the eigen and NASWOT baselines.", DefaultValueFactory = _ => 100 };
        var rsImages = new Option<int>("--rs-train-images") { Description = "Random search: training images per sampled cell (one epoch).", DefaultValueFactory = _ => 2000 };
        var parameterization = new Option<Parameterization>("--parameterization") { Description = "NASI's supernet: ntk (the paper's) or standard.", DefaultValueFactory = _ => new NasiOptions().Parameterization };
        var gumbel = new Option<string>("--gumbel") { Description = "NASI's samples: soft or hard (straight-through).", DefaultValueFactory = _ => NasiCli.GumbelName(new NasiOptions().Hard) };
        var tau = new Option<double>("--tau") { Description = "NASI's Gumbel-softmax temperature τ.", DefaultValueFactory = _ => new NasiOptions().Temperature };
        var dataOptions = new DataOptions(cmd);
        foreach (var o in new Option[] { space, seeds, methods, steps, batch, cells, candidates, rsImages, parameterization, gumbel, tau }) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            if (pr.GetValue(space) != "nb201") throw new UsageException($"--space {pr.GetValue(space)}: the comparison needs a table of trained accuracies; use nb201.");
            var chosen = pr.GetValue(methods)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            foreach (var m in chosen)
                if (!SearchComparison.Methods.Contains(m)) throw new UsageException($"--methods: unknown '{m}'; use {string.Join(", ", SearchComparison.Methods)}.");
            if (pr.GetValue(seeds) < 1) throw new UsageException("--seeds must be at least 1.");
            var settings = new SearchComparisonSettings
            {
                Nasi = new NasiOptions
                {
                    Steps = pr.GetValue(steps), BatchSize = pr.GetValue(batch), Parameterization = pr.GetValue(parameterization),
                    Hard = NasiCli.IsHard(pr.GetValue(gumbel)), Temperature = pr.GetValue(tau),
                },
                Supernet = new Nb201NetworkOptions { CellsPerStage = pr.GetValue(cells), Affine = false, TrackRunningStats = false },
                Candidates = pr.GetValue(candidates),
                ScoreBatch = pr.GetValue(batch),
                RandomTrainImages = pr.GetValue(rsImages),
            };
            try { settings.Nasi.Validate(); settings.Supernet.Validate(); }
            catch (ArgumentException e) { throw new UsageException(e.Message.Split(" (Parameter")[0]); }
            if (pr.GetResult(dataOptions.Dataset) is { Implicit: false } && pr.GetValue(dataOptions.Dataset) != "cifar10")
                throw new UsageException("--dataset: the NB201 comparison searches on cifar10 (the table's accuracies are for networks trained on it).");
            var data = dataOptions.Load(pr, console, 0, "cifar10").Train;
            var table = Nb201Table.LoadDefault(DataDirectory.Resolve(pr.GetValue(GlobalOptions.DataDir)).Path);
            var seedList = Enumerable.Range(1, pr.GetValue(seeds)).ToArray();
            // derivation: NASI's cells leave none out (runs stored before it kept none in the argmax, and are not resumed into this).
            var config = new { space = "nb201", derivation = "without-none", seeds = seedList, methods = chosen, steps = settings.Nasi.Steps, batch = settings.Nasi.BatchSize, cells = settings.Supernet.CellsPerStage,
                parameterization = settings.Nasi.Parameterization.ToString().ToLowerInvariant(), gumbel = NasiCli.GumbelName(settings.Nasi.Hard),
                tau = settings.Nasi.Temperature, candidates = settings.Candidates, rs_train_images = settings.RandomTrainImages };
            using var recorder = RunRecorder.Start(pr, console, "bench-search", config, 0, resumable: true);
            if (recorder.Resumed) console.Error.WriteLine($"resuming run {recorder.RunId}: {recorder.ResultCount} searches already stored");
            var comparison = new SearchComparison(table, data, settings, GlobalOptions.ResolveDevice(pr));
            var runs = console.WithProgress("bench search", sink =>
            {
                var task = sink.Task($"{chosen.Length} methods × {seedList.Length} seeds", chosen.Length * seedList.Length);
                return comparison.Run(chosen, seedList, new StoreComparisonJournal(recorder),
                    new SyncProgress<(int Done, int Total, string Label)>(p => task.Report(p.Done, p.Label)), console.Cancellation);
            });
            var output = Summarise(runs, chosen, recorder.RunId, table);
            recorder.Complete(output);
            if (pr.GetValue(GlobalOptions.Json)) console.WriteJson(output);
            else Render(console, output);
            return 0;
        });
        return cmd;
    }

    public sealed record MeanStd(double Mean, double Std)
    {
        /// <summary>The mean and the sample standard deviation (n − 1; 0 for a single value).</summary>
        public static MeanStd Of(IEnumerable<double> values)
        {
            var v = values.ToArray();
            double mean = v.Average();
            double std = v.Length > 1 ? Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1)) : 0;
            return new MeanStd(mean, std);
        }
    }

    public sealed record MethodSummary(string Method, int Seeds, MeanStd Cifar10, MeanStd Cifar100, [property: System.Text.Json.Serialization.JsonPropertyName("imagenet16")] MeanStd ImageNet16, double SearchSeconds, IReadOnlyList<SearchRun> Runs);

    public sealed record ComparisonOutput(long? RunId, IReadOnlyList<MethodSummary> Methods, MeanStd[] SpaceMean, IReadOnlyDictionary<string, double[]> Published);

    public static ComparisonOutput Summarise(IReadOnlyList<SearchRun> runs, IReadOnlyList<string> methods, long? runId, Nb201Table table)
    {
        static MethodSummary Summary(string method, List<SearchRun> r) =>
            new(method, r.Count, MeanStd.Of(r.Select(x => x.Accuracies.Cifar10Test)), MeanStd.Of(r.Select(x => x.Accuracies.Cifar100Test)),
                MeanStd.Of(r.Select(x => x.Accuracies.ImageNet16Test)), r.Average(x => x.Seconds), r);
        var summaries = new List<MethodSummary>();
        foreach (var m in methods)
        {
            var r = runs.Where(x => x.Method == m).ToList();
            summaries.Add(Summary(m, r));
            // NASI's searches also give the plain argmax, none allowed; a row of its own when every seed has one.
            if (r.Count > 0 && r.All(x => x.ArgmaxArch is not null && x.ArgmaxAccuracies is not null))
                summaries.Add(Summary($"{m} (argmax with none)", r.Select(x => x with { Arch = x.ArgmaxArch!, Accuracies = x.ArgmaxAccuracies! }).ToList()));
        }
        // A uniformly random cell's expected accuracy, exactly, over all 15,625 cells.
        var space = new[] { MeanStd.Of(table.Entries.Select(e => e.Accuracies.Cifar10Test)), MeanStd.Of(table.Entries.Select(e => e.Accuracies.Cifar100Test)),
            MeanStd.Of(table.Entries.Select(e => e.Accuracies.ImageNet16Test)) };
        return new ComparisonOutput(runId, summaries, space, Published);
    }

    private static void Render(CliConsole console, ComparisonOutput o)
    {
        var t = new Table().Title("NAS-Bench-201 test accuracy (%) of the cell each method found, mean ± std over seeds")
            .AddColumn("method").AddColumn(new TableColumn("seeds").RightAligned()).AddColumn(new TableColumn("CIFAR-10").RightAligned())
            .AddColumn(new TableColumn("CIFAR-100").RightAligned()).AddColumn(new TableColumn("ImageNet16-120").RightAligned()).AddColumn(new TableColumn("search s").RightAligned());
        foreach (var m in o.Methods)
            t.AddRow(m.Method, m.Seeds.ToString(), $"{m.Cifar10.Mean:F2} ± {m.Cifar10.Std:F2}", $"{m.Cifar100.Mean:F2} ± {m.Cifar100.Std:F2}",
                $"{m.ImageNet16.Mean:F2} ± {m.ImageNet16.Std:F2}", $"{m.SearchSeconds:F0}");
        t.AddRow("uniform random cell (exact)", "–", $"{o.SpaceMean[0].Mean:F2} ± {o.SpaceMean[0].Std:F2}", $"{o.SpaceMean[1].Mean:F2} ± {o.SpaceMean[1].Std:F2}",
            $"{o.SpaceMean[2].Mean:F2} ± {o.SpaceMean[2].Std:F2}", "0");
        foreach (var (name, v) in o.Published) t.AddRow(Markup.Escape(name), "–", $"{v[0]:F2}", $"{v[1]:F2}", $"{v[2]:F2}", "–");
        console.Ansi.Write(t);
    }
}

/// <summary>Finished (method, seed) searches in the results store, key <c>method/seed</c>.</summary>
public sealed class StoreComparisonJournal(RunRecorder recorder) : ISearchComparisonJournal
{
    private readonly Dictionary<string, NasSharp.Store.ResultRecord> existing = recorder.Results().ToDictionary(r => r.Record.ItemKey, r => r.Record);

    public SearchRun? Find(string method, int seed)
    {
        if (!existing.TryGetValue($"{method}/{seed}", out var r) || r.Arch is null) return null;
        var s = r.Scores;
        Nb201Accuracies Accuracies(string prefix) => new(s[prefix + "cifar10_valid"], s[prefix + "cifar10_test"], s[prefix + "cifar100_valid"],
            s[prefix + "cifar100_test"], s[prefix + "imagenet16_valid"], s[prefix + "imagenet16_test"]);
        bool argmax = s.TryGetValue(Argmax + "space_index", out var index);
        return new SearchRun(method, seed, r.Arch, r.Metrics["seconds"], Accuracies(""), r.Notes.GetValueOrDefault("reason"),
            argmax ? Nb201Genotype.FromIndex((int)index).Canonical : null, argmax ? Accuracies(Argmax) : null);
    }

    /// <summary>Score-name prefix of NASI's plain argmax cell, none allowed (its space index and table accuracies).</summary>
    private const string Argmax = "argmax/";

    public void Record(SearchRun run)
    {
        var scores = new Dictionary<string, double?>();
        void Add(string prefix, Nb201Accuracies a)
        {
            scores[prefix + "cifar10_valid"] = a.Cifar10Valid; scores[prefix + "cifar10_test"] = a.Cifar10Test; scores[prefix + "cifar100_valid"] = a.Cifar100Valid;
            scores[prefix + "cifar100_test"] = a.Cifar100Test; scores[prefix + "imagenet16_valid"] = a.ImageNet16Valid; scores[prefix + "imagenet16_test"] = a.ImageNet16Test;
        }
        Add("", run.Accuracies);
        if (run.ArgmaxArch is { } arch && run.ArgmaxAccuracies is { } accuracies)
        {
            scores[Argmax + "space_index"] = Nb201Genotype.Parse(arch).Index;
            Add(Argmax, accuracies);
        }
        recorder.AddResult($"{run.Method}/{run.Seed}", run.Arch, scores, new() { ["seconds"] = run.Seconds }, run.Detail, "nb201");
    }
}
