using System.CommandLine;
using NasSharp.Search;
using Spectre.Console;

namespace NasSharp.Cli.Commands;

/// <summary><c>nas search</c>: a train-free search; strategy <c>eigen</c> ranks candidates by λ_min of the NTK.</summary>
public static class SearchCommand
{
    public static Command Create(CliConsole console)
    {
        var cmd = new Command("search", "Train-free architecture search: score sampled candidates at initialisation, train the top-k, report the winner.");
        var strategy = new Option<string>("--strategy")
        {
            Description = "Search strategy: eigen (rank sampled candidates by λ_min of the NTK at initialisation; see --score) or nasi (one-shot " +
                "search of a relaxed supernet by the NTK trace norm, Shu et al. 2022; --space nb201 or darts).",
            DefaultValueFactory = _ => "eigen",
        };
        var candidates = new Option<int>("--candidates") { Description = "Number of sampled candidates K.", DefaultValueFactory = _ => 20 };
        var topK = new Option<int>("--top-k") { Description = "How many of the best-scored candidates to train.", DefaultValueFactory = _ => 2 };
        var ntkBatch = new Option<int>("--ntk-batch") { Description = "Inputs N of the NTK Gram matrix.", DefaultValueFactory = _ => 64 };
        var ntkSeeds = new Option<int>("--ntk-seeds") { Description = "Initialisations averaged per candidate.", DefaultValueFactory = _ => 1 };
        var score = new Option<string>("--score")
        {
            Description = "empirical (λ_min of the empirical NTK; alias lambda_min), normalized (its λ_min / (tr Θ / N)), analytic (λ_min of the " +
                "infinite-width NTK, no network built), bound (its lower bound from Hermite coefficients), complexity (N / yᵀΘ⁻¹y).",
            DefaultValueFactory = _ => "empirical",
        };
        var seed = SpaceOptions.NewSeed();
        var spaceOptions = new SpaceOptions(cmd);
        var dataOptions = new DataOptions(cmd);
        var network = new NetworkCliOptions(cmd);
        var trainingOptions = new TrainingCliOptions(cmd, defaultEpochs: 2);
        foreach (var o in new Option[] { strategy, candidates, topK, ntkBatch, ntkSeeds, score, seed }) cmd.Options.Add(o);
        var nasi = new NasiCli(cmd, network.Parameterization);
        cmd.SetAction(pr =>
        {
            if (pr.GetValue(strategy) == "nasi") return RunNasi(pr, console, nasi, spaceOptions, dataOptions, pr.GetValue(seed));
            if (pr.GetValue(strategy) != "eigen") throw new UsageException($"Unknown strategy '{pr.GetValue(strategy)}'; known: eigen, nasi.");
            var space = spaceOptions.Resolve(pr);
            var device = GlobalOptions.ResolveDevice(pr);
            long s = pr.GetValue(seed);
            var options = new EigenSearchOptions
            {
                Candidates = pr.GetValue(candidates),
                TopK = pr.GetValue(topK),
                NtkBatch = pr.GetValue(ntkBatch),
                NtkSeeds = pr.GetValue(ntkSeeds),
                Score = EigenScores.TryParse(pr.GetValue(score)!, out var parsed) ? parsed
                    : throw new UsageException($"--score {pr.GetValue(score)}: use {EigenScores.KnownNames} (lambda_min is an alias of empirical)."),
                ScoringNetwork = network.Resolve(pr),
                Training = trainingOptions.Resolve(pr),
                Seed = s,
            };
            try { options.Validate(); }
            catch (ArgumentException e) { throw new UsageException(e.Message.Split(" (Parameter")[0]); }
            var data = dataOptions.Load(pr, console, s);
            var search = new EigenSearch(space, options);
            var config = new { strategy = "eigen", space = space.Describe(), dataset = data.Name, data = dataOptions.Describe(pr), options };
            using var recorder = RunRecorder.Start(pr, console, "search", config, s, resumable: true);
            if (recorder.Resumed) console.Error.WriteLine($"resuming run {recorder.RunId}: {recorder.ResultCount} results already stored");
            var journal = new StoreSearchJournal(recorder);

            var result = console.WithProgress("search", sink =>
            {
                var scoring = sink.Task($"scoring ({options.Score.Name()})", options.Candidates);
                var training = sink.Task($"training top-{options.TopK}", Math.Max(options.TopK, 1));
                return search.Run(data.Splits, device, journal, new SyncProgress<SearchProgress>(p =>
                    (p.Phase == "scoring" ? scoring : training).Report(p.Done, p.Arch)), console.Cancellation);
            });

            var output = SearchOutput.From(result, space.SpaceName, data.Name, options, recorder.RunId, recorder.Resumed);
            recorder.Complete(output);
            if (pr.GetValue(GlobalOptions.Json)) console.WriteJson(output);
            else Render(console, output);
            return output.Best is null ? 1 : 0;
        });
        return cmd;
    }

    private static int RunNasi(ParseResult pr, CliConsole console, NasiCli nasi, SpaceOptions spaceOptions, DataOptions dataOptions, long seed)
    {
        var space = spaceOptions.Resolve(pr);
        var options = nasi.Resolve(pr, seed);
        var device = GlobalOptions.ResolveDevice(pr);
        var dataset = pr.GetValue(dataOptions.Dataset)!;
        var data = options.Data == NasSharp.Search.Nasi.NasiData.Real || options.Labels == NasSharp.Search.Nasi.NasiLabels.True
            ? dataOptions.Load(pr, console, seed).Train : null;
        int classes = data?.NumClasses ?? 10;
        if (data is not null && data.SampleShape.Length != 3)
            throw new UsageException($"--dataset {dataset}: nasi searches cell spaces of image networks; {dataset} is not an image dataset.");
        long[] sampleShape = data is null ? [3, 32, 32] : data.SampleShape.Select(v => (long)v).ToArray();
        var config = new { strategy = "nasi", space = space.SpaceName, dataset, channels = pr.GetValue(nasi.Channels), cells = pr.GetValue(nasi.Cells), options };
        using var recorder = RunRecorder.Start(pr, console, "search", config, seed, resumable: true);
        if (recorder.Resumed) console.Error.WriteLine($"resuming run {recorder.RunId}: {recorder.ResultCount} steps already stored");
        using var scope = TorchSharp.torch.NewDisposeScope();
        using var supernet = nasi.BuildSupernet(pr, space.SpaceName, (int)sampleShape[0], classes, seed, device, options);
        var result = NasiCli.Search(console, supernet, data, sampleShape, classes, options, device, recorder);
        NasSharp.Benchmarks.Nb201Accuracies? accuracies = null;
        (string, NasSharp.Benchmarks.Nb201Accuracies)? argmax = null;
        if (result.Architecture is NasSharp.Spaces.Nb201Genotype cell)
        {
            var table = NasSharp.Benchmarks.Nb201Table.LoadDefault(NasSharp.Data.DataDirectory.Resolve(pr.GetValue(GlobalOptions.DataDir)).Path);
            accuracies = table.Lookup(cell).Accuracies;
            var withNone = NasSharp.Networks.Nb201Supernet.Derive(result.Logits[0], excludeNone: false);
            argmax = (withNone.Canonical, table.Lookup(withNone).Accuracies);
        }
        var output = NasiCli.Output(result, space.SpaceName, dataset, options, recorder.RunId, recorder.Resumed, accuracies, argmax);
        recorder.Complete(output);
        if (pr.GetValue(GlobalOptions.Json)) console.WriteJson(output);
        else NasiCli.Render(console, output);
        return 0;
    }

    private static void Render(CliConsole console, SearchOutput o)
    {
        var table = new Table().Title($"eigen search on {Markup.Escape(o.Dataset)}: {o.Candidates} candidates, top-{o.TopK} trained")
            .AddColumn("rank").AddColumn("arch").AddColumn(new TableColumn("score").RightAligned()).AddColumn(new TableColumn("λ_max").RightAligned())
            .AddColumn(new TableColumn("val acc").RightAligned()).AddColumn(new TableColumn("test acc").RightAligned());
        foreach (var c in o.Ranked)
            table.AddRow(c.Rank.ToString(), Markup.Escape(c.Arch), c.Finite ? c.Score.ToString("G4") : "[red]non-finite[/]", c.LambdaMax.ToString("G4"),
                c.ValAccuracy?.ToString("P2") ?? "", c.TestAccuracy?.ToString("P2") ?? "");
        console.Ansi.Write(table);
        if (o.Best is { } b)
            console.Out.WriteLine($"best: {b.Arch}  score {b.Score:G4}  validation {b.ValAccuracy:P2}  test {b.TestAccuracy:P2}  " +
                $"(scoring {o.ScoringSeconds:F1} s, training {o.TrainingSeconds:F1} s, run {o.RunId})");
        else console.Out.WriteLine("no candidate had a finite score or could be trained");
    }

    public sealed record RankedOutput(int Rank, int Index, string Arch, double Score, double LambdaMin, double LambdaMax, double Trace, double Condition,
        bool Finite, string? NonFiniteReason, double? ValAccuracy, double? TestAccuracy);

    public sealed record BestOutput(string Arch, double Score, double LambdaMin, double? ValAccuracy, double? TestAccuracy);

    public sealed record SearchOutput(
        long? RunId, bool Resumed, string Space, string Dataset, string Strategy, int Candidates, int TopK, long Seed, string Score,
        BestOutput? Best, IReadOnlyList<RankedOutput> Ranked, double ScoringSeconds, double TrainingSeconds, int NonFinite)
    {
        public static SearchOutput From(EigenSearchResult r, string space, string dataset, EigenSearchOptions o, long? runId, bool resumed)
        {
            var trained = r.Trained.ToDictionary(t => t.Index);
            var ranked = r.Ranked.Select((c, i) =>
            {
                trained.TryGetValue(c.Index, out var t);
                return new RankedOutput(i + 1, c.Index, c.Arch, c.Score, c.LambdaMin, c.LambdaMax, c.Trace, c.Condition, c.IsFinite, c.NonFiniteReason,
                    t?.ValidationAccuracy, t?.TestAccuracy);
            }).ToList();
            BestOutput? best = r.Best is { } b ? new BestOutput(b.Arch, b.Score, b.LambdaMin, r.BestTrained?.ValidationAccuracy, r.BestTrained?.TestAccuracy) : null;
            return new SearchOutput(runId, resumed, space, dataset, "eigen", o.Candidates, o.TopK, o.Seed,
                o.Score.Name(), best, ranked, r.ScoringSeconds, r.TrainingSeconds,
                r.Ranked.Count(c => !c.IsFinite));
        }
    }
}
