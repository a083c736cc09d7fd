using System.CommandLine;
using NasSharp.Benchmarks;
using NasSharp.Experiments;
using NasSharp.Proxies;
using NasSharp.Search;
using NasSharp.Search.Nasi;
using NasSharp.Spaces;
using NasSharp.Store;
using NasSharp.Training;
using Spectre.Console;

namespace NasSharp.Cli.Commands;

/// <summary><c>nas bench truth|correlate|search|train</c>: the experiments that measure methods against trained accuracy.</summary>
public static class BenchExperiments
{
    public static Command Truth(CliConsole console, Registries registries)
    {
        var cmd = new Command("truth", "Train N architectures sampled from a space and store their accuracies: ground truth for a space without a table " +
            "(resumable: rerun the same command after an interruption).");
        var n = new Option<int>("--n") { Description = "Number of architectures.", DefaultValueFactory = _ => 100 };
        var seed = ExperimentCli.NewSeed();
        var spaceOptions = new SpaceCliOptions(cmd, registries.Spaces);
        var dataOptions = new DataOptions(cmd, batches: false);
        var training = new SettingOptions(cmd, TrainingSettings.Specs(2));
        foreach (var o in new Option[] { n, seed }.Concat(ExperimentCli.NewClusterOptions())) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            var space = spaceOptions.Resolve(pr);
            long s = pr.GetValue(seed);
            var data = DataOptions.Load(pr, console, dataOptions.Spec(pr), s);
            var experiment = new TruthExperiment(space, data, pr.GetValue(n), TrainingSettings.Read(training.Read(pr), 2), s);
            ExperimentCli.Run(pr, console, experiment, o => console.Out.WriteLine(
                $"run {o.RunId}: {o.N} architectures trained on {o.Dataset}; test accuracy mean {o.TestAccuracyPercentMean:F2}%, " +
                $"min {o.TestAccuracyPercentMin:F2}%, max {o.TestAccuracyPercentMax:F2}%; {o.Diverged} diverged. " +
                $"Use it with: nas bench correlate --truth {o.RunId}"));
            return 0;
        });
        return cmd;
    }

    public static Command Correlate(CliConsole console, Registries registries)
    {
        var cmd = new Command("correlate", "Rank correlation of zero-cost proxies with trained accuracy: a space's table, or a truth run " +
            "(resumable: rerun the same command after an interruption).");
        var n = new Option<int>("--n") { Description = "Number of sampled architectures (with --truth: at most the truth run's).", DefaultValueFactory = _ => 200 };
        var proxies = new Option<string>("--proxies")
        {
            Description = $"Comma-separated proxies: {string.Join(", ", ProxyRegistry.Names)}; and aggregates over the sample (their components are scored too): {string.Join(", ", ProxyAggregates.Names)}.",
            DefaultValueFactory = _ => string.Join(",", ProxyRegistry.Names.Concat(ProxyAggregates.Names)),
        };
        var batch = new Option<int>("--batch") { Description = "Inputs per evaluation.", DefaultValueFactory = _ => 64 };
        var truth = new Option<long?>("--truth") { Description = "The id of a nas bench truth run whose accuracies are the ground truth (its space and dataset are used)." };
        var targets = new Option<string?>("--targets") { Description = "Comma-separated subset of the ground truth's targets (nb201: cifar10,cifar100,imagenet16; default all)." };
        var seed = ExperimentCli.NewSeed();
        var spaceOptions = new SpaceCliOptions(cmd, registries.Spaces, Nb201Space.Name);
        var dataOptions = new DataOptions(cmd, "cifar10");
        foreach (var o in new Option[] { n, proxies, batch, truth, targets, seed }.Concat(ExperimentCli.NewClusterOptions())) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            long s = pr.GetValue(seed);
            var selected = ProxyRegistry.ParseSelection(pr.GetValue(proxies)!);
            ISearchSpace space;
            IGroundTruth groundTruth;
            string? dataset = null;
            if (pr.GetValue(truth) is { } runId)
            {
                TruthGroundTruth stored;
                using (var store = ResultsStore.Open(pr.GetValue(GlobalOptions.Store) ?? ResultsStore.DefaultPath()))
                    stored = TruthGroundTruth.Load(store, runId, registries.Spaces);
                if (pr.GetResult(spaceOptions.Space) is { Implicit: false } && pr.GetValue(spaceOptions.Space) != stored.Space.SpaceName)
                    throw new UsageException($"--space {pr.GetValue(spaceOptions.Space)}: truth run {runId} trained {stored.Space.SpaceName} architectures.");
                if (dataOptions.GivenDataset(pr) && pr.GetValue(dataOptions.Dataset) != stored.Dataset)
                    throw new UsageException($"--dataset {pr.GetValue(dataOptions.Dataset)}: truth run {runId} was trained on {stored.Dataset}.");
                (space, groundTruth, dataset) = (stored.Space, stored, stored.Dataset);
            }
            else
            {
                space = spaceOptions.Resolve(pr);
                groundTruth = Tables.Require(space, pr, "bench correlate needs trained accuracies; train them with nas bench truth and pass --truth RUN_ID");
            }
            var data = DataOptions.Load(pr, console, dataOptions.Spec(pr, dataset), s);
            var chosen = pr.GetValue(targets)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            var experiment = new CorrelationExperiment(space, data, groundTruth, selected.Proxies, pr.GetValue(n), pr.GetValue(batch), s, chosen, pr.GetValue(truth), selected.Aggregates);
            ExperimentCli.Run(pr, console, experiment, o => Render(console, o));
            return 0;
        });
        return cmd;
    }

    private static void Render(CliConsole console, CorrelationOutput o)
    {
        var targets = o.References.Keys.ToList();
        var t = new Table().Title($"{o.Space}: {o.N} architectures, batch {o.Batch} ({o.Inputs} inputs, {o.Labels} labels), run {o.RunId}").AddColumn("proxy");
        foreach (var target in targets) t.AddColumn($"{target} τ").AddColumn($"{target} ρ").AddColumn($"{target} best/100");
        t.AddColumn("published").AddColumn("non-finite").AddColumn("s/arch");
        foreach (var (name, p) in o.Proxies)
        {
            var cells = new List<string> { name };
            foreach (var target in targets)
            {
                var a = p.Targets[target];
                cells.Add(a.Kendall.ToString("F3")); cells.Add(a.Spearman.ToString("F3")); cells.Add(a.BestOf100.ToString("F2"));
            }
            cells.Add(p.Published is null ? "" : $"{p.Published.Statistic} {string.Join(" / ", targets.Select(x => p.Published.Targets.TryGetValue(x, out var v) ? v.ToString("F2") : "–"))}");
            cells.Add(p.NonFinite.ToString());
            cells.Add(p.SecondsPerArch.ToString("F3"));
            t.AddRow(cells.Select(Markup.Escape).ToArray());
        }
        console.Ansi.Write(t);
        console.Out.WriteLine(string.Join("; ", targets.Select(target =>
            $"{target}: random pick {o.References[target].Mean:F2}, oracle best of 100 {o.References[target].OracleBestOf:F2}")));
    }

    public static Command Search(CliConsole console, Registries registries)
    {
        var cmd = new Command("search", "NASI (FIX, ADA, random labels, Gaussian data) against the eigen strategy, the best of sampled cells by NASWOT, AZ-NAS or the ensemble, and equal-time random search on a " +
            "space with a table (nb201): the found architectures' test accuracies, mean ± std over seeds (resumable).");
        var seeds = new Option<int>("--seeds") { Description = "Seeds 1..S per method.", DefaultValueFactory = _ => 5 };
        var methods = new Option<string>("--methods") { Description = $"Comma-separated: {string.Join(", ", ComparisonExperiment.Methods)}.", DefaultValueFactory = _ => string.Join(",", ComparisonExperiment.Methods) };
        var candidates = new Option<int>("--candidates") { Description = "Cells sampled by the eigen and NASWOT baselines.", DefaultValueFactory = _ => 100 };
        var rsImages = new Option<int>("--rs-train-images") { Description = "Random search: training images per sampled cell (one epoch).", DefaultValueFactory = _ => 2000 };
        var proxySeeds = new Option<int?>("--proxy-seeds") { Description = "naswot, az-nas, ensemble, ensemble-full: evaluations averaged per cell, each on its own batch and initialisation (default 1)." };
        var spaceOptions = new SpaceCliOptions(cmd, registries.Spaces, Nb201Space.Name);
        var nasi = new SettingOptions(cmd, StrategyRegistry.Nasi.Settings.Where(x => x.Name is "steps" or "batch" or "tau" or "gumbel" or "parameterization" or "alpha-gradient" or "fd-step"));
        var dataOptions = new DataOptions(cmd, "cifar10", batches: false);
        foreach (var o in new Option[] { seeds, methods, candidates, rsImages, proxySeeds }.Concat(ExperimentCli.NewClusterOptions())) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            var chosen = pr.GetValue(methods)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (pr.GetValue(seeds) < 1) throw new UsageException("--seeds must be at least 1.");
            var nasiSettings = nasi.Read(pr);
            var nasiOptions = ((NasiStrategy)StrategyRegistry.Nasi.CreateFrom(nasiSettings)).Options;
            var settings = new ComparisonSettings
            {
                Nasi = nasiOptions,
                Candidates = pr.GetValue(candidates),
                ScoreBatch = nasiOptions.BatchSize,
                RandomTrainImages = pr.GetValue(rsImages),
                ProxySeeds = pr.GetValue(proxySeeds), // checked with the proxy methods' other options (ProxySearchOptions.Validate)
            };
            var space = spaceOptions.Resolve(pr);
            var table = Tables.Require(space, pr, "the comparison looks the found architectures up in a table");
            var dataDirectory = NasSharp.Data.DataDirectory.Resolve(pr.GetValue(GlobalOptions.DataDir)).Path;
            var data = DataOptions.Load(pr, console, dataOptions.Spec(pr), 0);
            var experiment = new ComparisonExperiment(space, data, table, dataDirectory, chosen, [.. Enumerable.Range(1, pr.GetValue(seeds))], settings);
            ExperimentCli.Run(pr, console, experiment, o => Render(console, o));
            return 0;
        });
        return cmd;
    }

    private static void Render(CliConsole console, ComparisonOutput o)
    {
        var t = new Table().Title($"{o.Space}: test accuracy (%) of the architecture each method found, mean ± std over seeds")
            .AddColumn("method").AddColumn(new TableColumn("seeds").RightAligned());
        foreach (var target in o.Targets) t.AddColumn(new TableColumn(target).RightAligned());
        t.AddColumn(new TableColumn("search s").RightAligned());
        foreach (var m in o.Methods)
            t.AddRow([Markup.Escape(m.Method), m.Seeds.ToString(), .. o.Targets.Select(x => m.TestAccuracyPercent[x].Format(m.Seeds)), $"{m.SearchSeconds:F0}"]);
        t.AddRow(["uniform random (exact)", "–", .. o.Targets.Select(x => $"{o.UniformRandom[x].Mean:F2} ± {o.UniformRandom[x].Std:F2}"), "0"]);
        foreach (var (name, figure) in o.Published)
            t.AddRow([Markup.Escape(name), "–", .. o.Targets.Select(x => figure.Targets.TryGetValue(x, out var v) ? $"{v:F2}" : "–"), "–"]);
        console.Ansi.Write(t);
    }

    public static Command NasiGradient(CliConsole console, Registries registries)
    {
        var cmd = new Command("nasi-gradient", "NASI's α-gradient paths side by side on one search (default: the NB201 search supernet, b = 64): " +
            "seconds per step and peak resident memory of the exact double backward and the finite-difference path, their ratios, " +
            "and how far the two G_t are apart step by step.");
        var steps = new Option<int>("--steps") { Description = "Steps timed per path (after the warm-up).", DefaultValueFactory = _ => 2 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed steps per path before the timed ones (the first calls of a process are slow).", DefaultValueFactory = _ => 1 };
        var seed = ExperimentCli.NewSeed();
        var spaceOptions = new SpaceCliOptions(cmd, registries.Spaces, Nb201Space.Name);
        var nasi = new SettingOptions(cmd, StrategyRegistry.Nasi.Settings.Where(x => x.Name is "batch" or "tau" or "gumbel" or "parameterization"));
        var dataOptions = new DataOptions(cmd, "cifar10");
        foreach (var o in new Option[] { steps, warmup, seed }) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            long s = pr.GetValue(seed);
            var settings = new NasiGradientBenchSettings
            {
                Nasi = ((NasiStrategy)StrategyRegistry.Nasi.CreateFrom(nasi.Read(pr))).Options,
                TimedSteps = pr.GetValue(steps),
                WarmupSteps = pr.GetValue(warmup),
                Seed = s,
            };
            var space = spaceOptions.Resolve(pr);
            var data = DataOptions.Load(pr, console, dataOptions.Spec(pr), s);
            ExperimentCli.Run(pr, console, new NasiGradientBenchmark(space, data, settings), o => Render(console, o), resumable: false);
            return 0;
        });
        return cmd;
    }

    private static void Render(CliConsole console, NasiGradientBenchReport o)
    {
        console.Out.WriteLine($"NASI α-gradient on {o.Space} ({o.Dataset}), b = {o.Batch}, {o.TimedSteps} timed steps per path, {o.TorchThreads} torch threads, run {o.RunId}");
        var t = new Table().AddColumn("path").AddColumn(new TableColumn("s/step").RightAligned()).AddColumn(new TableColumn("peak MB").RightAligned())
            .AddColumn(new TableColumn("process peak MB").RightAligned());
        foreach (var p in o.Paths) t.AddRow(p.Path, p.SecondsPerStep.ToString("F2"), p.PeakMb?.ToString("F0") ?? "n/a", p.ProcessPeakMb?.ToString("F0") ?? "n/a");
        console.Ansi.Write(t);
        console.Out.WriteLine($"finite difference / exact: time {o.TimeRatio:F3}, peak memory {(o.PeakRatio is { } r ? r.ToString("F3") : "n/a")}");
        console.Out.WriteLine($"in forward + backward passes of the supernet: finite difference {o.FiniteDifferenceFloors:F2}, exact {o.ExactFloors:F2}");
        foreach (var a in o.Agreement)
            console.Out.WriteLine($"step {a.Step}: ‖G_fd − G_exact‖/‖G_exact‖ {a.RelativeError:G3}, cosine {a.Cosine:F3} (‖εv‖ = {o.FiniteDifferenceStep:G3}, trace norm {a.TraceNorm:G4})");
        console.Out.WriteLine($"peak memory: {o.PeakMemory}");
    }

    public static Command NasiOperations(CliConsole console, Registries registries)
    {
        var cmd = new Command("nasi-operations", "Which operations NASI's objective pulls a relaxed supernet towards, and why: for each operation, " +
            "the gradient of the trace norm ‖b⁻¹ Σ ∇_θ L‖² with respect to its logits at uniform mixing weights (mean over edges), " +
            "and the trace norm, the logits' mean square and the classifier's share at the vertex where every edge of its group is that operation.");
        var seeds = new Option<int>("--seeds") { Description = "Supernets measured (seeds --seed, --seed + 1, …), each on its own batch.", DefaultValueFactory = _ => 2 };
        var seed = ExperimentCli.NewSeed();
        var spaceOptions = new SpaceCliOptions(cmd, registries.Spaces, DartsSpace.Name);
        var nasi = new SettingOptions(cmd, StrategyRegistry.Nasi.Settings.Where(x => x.Name is "batch" or "parameterization"));
        var dataOptions = new DataOptions(cmd, "cifar10");
        foreach (var o in new Option[] { seeds, seed }) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            long s = pr.GetValue(seed);
            var options = ((NasiStrategy)StrategyRegistry.Nasi.CreateFrom(nasi.Read(pr))).Options;
            var settings = new TraceNormAnatomySettings { BatchSize = options.BatchSize, Parameterization = options.Parameterization, Seeds = pr.GetValue(seeds), Seed = s };
            var space = spaceOptions.Resolve(pr);
            var data = DataOptions.Load(pr, console, dataOptions.Spec(pr), s);
            ExperimentCli.Run(pr, console, new TraceNormAnatomy(space, data, settings), o => Render(console, o), resumable: false);
            return 0;
        });
        return cmd;
    }

    private static void Render(CliConsole console, TraceNormAnatomyOutput o)
    {
        console.Out.WriteLine($"NASI's trace norm T on the {o.Space} search supernet ({o.Dataset}, b = {o.Batch}, {o.Parameterization} parameterisation), run {o.RunId}");
        foreach (var n in o.Supernets)
        {
            console.Out.WriteLine($"seed {n.Seed}: at uniform mixing weights T = {n.UniformTraceNorm:G4}, logits' mean square {n.UniformLogitMeanSquare:G3}, classifier's share of T {(n.UniformClassifierShare is { } u ? u.ToString("P0") : "– (no Linear classifier)")}");
            foreach (var g in n.Groups)
            {
                var t = new Table().Title($"{g.Group} ({g.Edges} edges)").AddColumn("operation").AddColumn(new TableColumn("∂T/∂α at uniform").RightAligned())
                    .AddColumn(new TableColumn("T at its vertex / uniform").RightAligned()).AddColumn(new TableColumn("logits' mean square").RightAligned())
                    .AddColumn(new TableColumn("classifier's share").RightAligned());
                foreach (var e in g.Operations)
                    t.AddRow(Markup.Escape(e.Operation), e.AlphaGradient.ToString("G3"), e.VertexTraceRatio.ToString("F3"), e.VertexLogitMeanSquare.ToString("G3"), e.VertexClassifierShare?.ToString("P0") ?? "–");
                console.Ansi.Write(t);
            }
        }
    }

    public static Command Train(CliConsole console, Registries registries)
    {
        var cmd = new Command("train", "Search a space with one strategy, then train the found architecture and K random ones under one budget: the " +
            "comparison for a space without a table (resumable: rerun the same command).");
        cmd.Aliases.Add("darts");
        var random = new Option<int>("--random") { Description = "Random architectures trained next to the found one.", DefaultValueFactory = _ => 5 };
        var trainChannels = new Option<string?>("--train-channels") { Description = "The trained networks' --channels (default: the searched space's)." };
        var trainCells = new Option<string?>("--train-cells") { Description = "The trained networks' --cells (default: the searched space's)." };
        var seed = ExperimentCli.NewSeed();
        var spaceOptions = new SpaceCliOptions(cmd, registries.Spaces, DartsSpace.Name);
        var training = new SettingOptions(cmd, TrainingSettings.Specs(10));
        var strategyOptions = new StrategyCliOptions(cmd, registries.Strategies, NasiStrategy.StrategyName, TrainingSettings.Specs(10).Select(x => x.Name));
        var dataOptions = new DataOptions(cmd, "cifar10");
        foreach (var o in new Option[] { random, trainChannels, trainCells, seed }) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            long s = pr.GetValue(seed);
            var definition = spaceOptions.Definition(pr);
            var settings = spaceOptions.Settings(pr);
            var space = definition.CreateFrom(settings);
            var trained = definition.CreateFrom(settings.With("channels", pr.GetValue(trainChannels) ?? settings.Text("channels"))
                .With("cells", pr.GetValue(trainCells) ?? settings.Text("cells")));
            var strategy = strategyOptions.Resolve(pr);
            var data = DataOptions.Load(pr, console, dataOptions.Spec(pr), s);
            var experiment = new TrainingComparisonExperiment(space, trained, data, strategy, pr.GetValue(random), TrainingSettings.Read(training.Read(pr), 10), s);
            ExperimentCli.Run(pr, console, experiment, o => Render(console, o));
            return 0;
        });
        return cmd;
    }

    private static void Render(CliConsole console, TrainingComparisonOutput o)
    {
        console.Out.WriteLine($"{o.Strategy} on {o.Space} ({o.Dataset}): {o.SearchSeconds:F0} s");
        console.Out.WriteLine($"found: {o.Arch}");
        var t = new Table().Title($"trained: {string.Join(", ", o.TrainedSpace.Select(kv => $"{kv.Key} {kv.Value}"))}, {o.Epochs} epochs on {o.TrainImages} images")
            .AddColumn("role").AddColumn("arch").AddColumn(new TableColumn("val acc %").RightAligned()).AddColumn(new TableColumn("test acc %").RightAligned()).AddColumn(new TableColumn("params").RightAligned()).AddColumn(new TableColumn("s").RightAligned());
        foreach (var e in o.Trained)
            t.AddRow(e.Role, Markup.Escape(e.Arch), e.ValAccuracyPercent?.ToString("F2") ?? "n/a", e.Diverged ? "diverged" : e.TestAccuracyPercent?.ToString("F2") ?? "n/a",
                e.Parameters.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), e.Seconds.ToString("F0"));
        console.Ansi.Write(t);
        if (o.RandomTestAccuracyPercentMean is { } m)
            console.Out.WriteLine($"random architectures: test {m:F2}% ± {(o.RandomTestAccuracyPercentStd ?? 0):F2}%; the found one ranks {o.FoundRank} of {o.Trained.Count} (run {o.RunId})");
    }
}
