using System.Diagnostics;
using NasSharp.Data;
using NasSharp.Networks;
using NasSharp.Proxies;
using NasSharp.Search.Nasi;
using NasSharp.Spaces;
using NasSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Benchmarks;

/// <summary>
/// One method's outcome for one seed: the selected NB201 cell, its table accuracies and the search's seconds. For NASI
/// the cell is derived without <c>none</c> (<see cref="Nb201Supernet.Derive(IReadOnlyList{double[,]})"/>), and the run also
/// carries the plain argmax of the same Δ*, none allowed (<see cref="Nb201Supernet.Derive(double[,], bool)"/>), and its accuracies.
/// </summary>
public sealed record SearchRun(string Method, int Seed, string Arch, double Seconds, Nb201Accuracies Accuracies, string? Detail = null,
    string? ArgmaxArch = null, Nb201Accuracies? ArgmaxAccuracies = null);

/// <summary>Where finished (method, seed) runs are kept, so that an interrupted comparison resumes.</summary>
public interface ISearchComparisonJournal
{
    SearchRun? Find(string method, int seed);
    void Record(SearchRun run);
}

/// <summary>How <see cref="SearchComparison"/> runs each method.</summary>
public sealed record SearchComparisonSettings
{
    /// <summary>NASI's options (T, b, μ, ν, ξ, τ); the variants override ν, labels and data.</summary>
    public NasiOptions Nasi { get; init; } = new();
    /// <summary>The relaxed supernet's size (NB201's search network: C = 16, N = 5 cells per stage).</summary>
    public Nb201NetworkOptions Supernet { get; init; } = new() { Affine = false, TrackRunningStats = false };
    /// <summary>Cells sampled by the eigen and NASWOT baselines (EigenNAS and NASWOT sample 100 / 1000).</summary>
    public int Candidates { get; init; } = 100;
    /// <summary>Inputs of the baselines' scores (the NTK Gram's N; NASWOT's batch).</summary>
    public int ScoreBatch { get; init; } = 64;
    /// <summary>Random search: images trained per sampled cell, epochs, and the held-out images it is ranked on.</summary>
    public int RandomTrainImages { get; init; } = 2000;
    public int RandomEpochs { get; init; } = 1;
    public int RandomValidationImages { get; init; } = 1000;
}

/// <summary>
/// NASI and its baselines on NAS-Bench-201, several seeds each, every selected cell looked up in the table:
/// NASI-FIX (ν = 100), NASI-ADA (ν₀ = 500), NASI with random labels, NASI with Gaussian inputs, the eigen strategy (best
/// λ_min of the empirical NTK among sampled cells), NASWOT (best score among sampled cells) and random search given
/// NASI-FIX's wall-clock of the same seed (sampled cells trained briefly, the best on held-out images kept).
/// </summary>
public sealed class SearchComparison(Nb201Table table, LabeledDataset train, SearchComparisonSettings settings, Device? device = null)
{
    public static IReadOnlyList<string> Methods { get; } =
        ["nasi-fix", "nasi-ada", "nasi-random-labels", "nasi-gaussian", "eigen", "naswot", "random"];

    private readonly Device device = device ?? CPU;

    public IReadOnlyList<SearchRun> Run(IReadOnlyList<string> methods, IReadOnlyList<int> seeds, ISearchComparisonJournal journal,
        IProgress<(int Done, int Total, string Label)>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(methods);
        ArgumentNullException.ThrowIfNull(seeds);
        foreach (var m in methods)
            if (!Methods.Contains(m)) throw new ArgumentException($"Unknown method '{m}'; known: {string.Join(", ", Methods)}.", nameof(methods));
        // Random search needs NASI-FIX's time of the same seed, so NASI-FIX runs first.
        var ordered = methods.Contains("random") && !methods.Contains("nasi-fix") ? ["nasi-fix", .. methods] : methods.OrderBy(m => m == "random" ? 1 : 0).ToList();
        var runs = new List<SearchRun>();
        int done = 0, total = ordered.Count * seeds.Count;
        foreach (var seed in seeds)
            foreach (var method in ordered)
            {
                cancellation.ThrowIfCancellationRequested();
                progress?.Report((done, total, $"{method} seed {seed}"));
                var run = journal.Find(method, seed);
                if (run is null)
                {
                    run = RunOne(method, seed, runs, cancellation);
                    journal.Record(run);
                }
                runs.Add(run);
                progress?.Report((++done, total, $"{method} seed {seed}: {run.Accuracies.Cifar10Test:F2}"));
            }
        return runs.Where(r => methods.Contains(r.Method)).ToList();
    }

    private SearchRun RunOne(string method, int seed, List<SearchRun> earlier, CancellationToken cancellation)
    {
        using var scope = NewDisposeScope();
        var clock = Stopwatch.StartNew();
        Nb201Genotype arch;
        Nb201Genotype? argmax = null;
        string? detail = null;
        switch (method)
        {
            case "nasi-fix" or "nasi-ada" or "nasi-random-labels" or "nasi-gaussian":
                var options = settings.Nasi with
                {
                    Seed = Seeds.Derive(seed, "nasi"),
                    Nu = method == "nasi-ada" ? 500 : 100,
                    AdaptiveNu = method == "nasi-ada",
                    Labels = method == "nasi-random-labels" ? NasiLabels.Random : NasiLabels.True,
                    Data = method == "nasi-gaussian" ? NasiData.Gaussian : NasiData.Real,
                };
                // The same supernet initialisation for every variant of a seed: only the objective's inputs differ.
                random.manual_seed(Seeds.Derive(seed, "nasi-supernet"));
                using (var supernet = new Nb201Supernet(train.SampleShape[0], train.NumClasses, settings.Supernet, device))
                {
                    if (options.Parameterization == Parameterization.Ntk) supernet.UseNtkParameterization();
                    var source = new BatchSource(train, train.SampleShape.Select(v => (long)v).ToArray(), train.NumClasses, options, device);
                    var result = NasiSearch.Run(supernet, source.Batch, options, cancellation: cancellation);
                    arch = (Nb201Genotype)result.Architecture;
                    argmax = Nb201Supernet.Derive(result.Logits[0], excludeNone: false);
                    detail = $"trace norm mean {result.Steps.Average(s => s.TraceNorm):G4}";
                }
                break;
            case "eigen" or "naswot":
                (arch, detail) = BestOfSampled(method, seed, cancellation);
                break;
            case "random":
                var budget = earlier.Single(r => r.Method == "nasi-fix" && r.Seed == seed).Seconds;
                (arch, detail) = RandomSearch(seed, budget, cancellation);
                break;
            default:
                throw new ArgumentException($"Unknown method '{method}'.", nameof(method));
        }
        return new SearchRun(method, seed, arch.Canonical, clock.Elapsed.TotalSeconds, table.Lookup(arch).Accuracies, detail,
            argmax?.Canonical, argmax is null ? null : table.Lookup(argmax).Accuracies);
    }

    /// <summary>The best of <see cref="SearchComparisonSettings.Candidates"/> distinct sampled cells by λ_min of the NTK or NASWOT.</summary>
    private (Nb201Genotype, string) BestOfSampled(string method, int seed, CancellationToken cancellation)
    {
        var rng = Seeds.Rng(seed, method, "cells");
        var cells = table.Sample(settings.Candidates, rng).Select(e => e.Arch).ToList();
        var batch = Search.EigenSearch.NtkInputs(train, settings.ScoreBatch, Seeds.Derive(seed, method, "batch"));
        var (x, y) = batch.ToTensors(device);
        var evaluator = new ProxyEvaluator([ProxyRegistry.Get(method == "eigen" ? "ntk_min_eig" : "naswot")]);
        Nb201Genotype? best = null;
        double bestScore = double.NegativeInfinity;
        int nonFinite = 0;
        foreach (var cell in cells)
        {
            cancellation.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            long networkSeed = Seeds.Derive(seed, method, cell.Index);
            var evaluation = evaluator.Evaluate(() => NetworkFactory.Build(cell, train.SampleShape, train.NumClasses, new NetworkOptions(), networkSeed, device),
                x, y, train.NumClasses, networkSeed);
            var score = evaluation.Results[0].Score;
            if (!double.IsFinite(score.Value)) { nonFinite++; continue; }
            if (score.Value > bestScore) (best, bestScore) = (cell, score.Value);
        }
        if (best is null) throw new InvalidOperationException($"{method}: none of the {cells.Count} sampled cells had a finite score.");
        return (best, $"best score {bestScore:G4} of {cells.Count} cells ({nonFinite} non-finite)");
    }

    /// <summary>Cells sampled and briefly trained until the budget is spent (at least one); the best on held-out images.</summary>
    private (Nb201Genotype, string) RandomSearch(int seed, double budgetSeconds, CancellationToken cancellation)
    {
        var rng = Seeds.Rng(seed, "random-search");
        var order = Enumerable.Range(0, train.Count).OrderBy(_ => rng.Next()).ToArray();
        int nTrain = Math.Min(settings.RandomTrainImages, train.Count / 2), nVal = Math.Min(settings.RandomValidationImages, train.Count - nTrain);
        var trainSubset = train.Subset(order[..nTrain]);
        var valSubset = train.Subset(order[nTrain..(nTrain + nVal)]);
        var clock = Stopwatch.StartNew();
        Nb201Genotype? best = null;
        double bestAccuracy = double.NegativeInfinity;
        int trained = 0;
        var space = new Nb201Space();
        while (trained == 0 || clock.Elapsed.TotalSeconds < budgetSeconds)
        {
            cancellation.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var cell = space.Sample(rng);
            using var model = NetworkFactory.Build(cell, train.SampleShape, train.NumClasses, new NetworkOptions(), Seeds.Derive(seed, "random-search", trained), device);
            var result = Trainer.Fit(model, trainSubset, valSubset, null,
                new TrainingOptions { Epochs = settings.RandomEpochs, BatchSize = 64, LearningRate = 0.1, Seed = Seeds.Derive(seed, "random-search-train", trained) },
                device, cancellation: cancellation);
            trained++;
            double accuracy = result.ValidationAccuracy ?? double.NegativeInfinity;
            if (accuracy > bestAccuracy) (best, bestAccuracy) = (cell, accuracy);
        }
        return (best!, $"{trained} cells trained {settings.RandomEpochs} epoch(s) on {nTrain} images in a {budgetSeconds:F0} s budget; best held-out accuracy {bestAccuracy:P1}");
    }
}
