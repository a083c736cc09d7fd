using NasSharp.Data;
using NasSharp.Experiments;
using NasSharp.Networks;
using NasSharp.Proxies;
using NasSharp.Search;
using NasSharp.Spaces;
using NasSharp.Store;

namespace NasSharp.Samples;

/// <summary>What each step of the cookbook produced, for the program to print and the tests to check.</summary>
public sealed record CookbookResult(
    string Cell,
    NetworkCost Cost,
    long BuiltParameters,
    ProxyEvaluation Scores,
    SearchOutcome Outcome,
    SearchOutput Output,
    IReadOnlyList<RunInfo> Runs,
    string StorePath);

/// <summary>
/// The README's C# cookbook: its snippets are these lines, verbatim (a documentation test checks it). Pick a space,
/// build and cost a network, score it with proxies, run a strategy, then the same search as a stored run.
/// </summary>
public static class Cookbook
{
    public static CookbookResult Run()
    {
        // A space from the registry (settings as on the command line), a sample, a network, its cost.
        var space = SpaceRegistry.Default.Create("nb201", new Settings([new("cells", "1")]));
        var cell = space.Sample(new Random(1));
        using var network = space.BuildNetwork(cell, [3, 32, 32], classes: 10, new NetworkOptions(), seed: 1);
        NetworkCost cost = space.Cost(cell, [3, 32, 32], classes: 10);

        // Data: load, seeded split, normalisation; a fixed batch to score on.
        string dataDir = DataDirectory.Resolve(null).Path;
        var data = new ExperimentData(new DataSpec { Dataset = "cifar10", TrainSize = "2000" }, dataDir, seed: 1);
        var (x, y) = data.Batches().Fixed(64, seed: 1).ToTensors();

        // Proxies on one network, sharing one forward/backward pass.
        var evaluator = new ProxyEvaluator([ProxyRegistry.Get("naswot"), ProxyRegistry.Get("synflow")]);
        var scores = evaluator.Evaluate(() => space.BuildNetwork(cell, [3, 32, 32], 10, new NetworkOptions(), seed: 1), x, y, 10, seed: 1);
        Console.WriteLine($"{cell.Canonical}: naswot {scores["naswot"].Value:F2}, synflow {scores["synflow"].Value:G4}");

        // A strategy over the space: the outcome has the selected architecture and every candidate's score.
        var strategy = StrategyRegistry.Default.Create("proxy", new Settings([new("proxy", "naswot"), new("candidates", "10")]));
        SearchOutcome outcome = strategy.Run(new SearchContext(space, data, Seed: 1));

        // The same search as a stored, resumable run, and what the store holds.
        var experiment = new SearchExperiment(space, data, strategy, seed: 1, table: space.GroundTruth(dataDir));
        string storePath = Path.Combine(Path.GetTempPath(), "nassharp-cookbook.db");
        SearchOutput output = ExperimentRun.Execute(experiment, storePath, "my search", new ExperimentContext());
        using var store = ResultsStore.Open(storePath);
        foreach (var run in store.ListRuns()) Console.WriteLine($"{run.Id} {run.Kind} {run.Status}");

        return new CookbookResult(cell.Canonical, cost, network.parameters().Sum(p => p.numel()), scores, outcome, output, store.ListRuns(), storePath);
    }

    /// <summary>Removes the cookbook's store (and its lock folder), so the next run starts a fresh search.</summary>
    public static void DeleteStore(string storePath)
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var f in Directory.GetFiles(Path.GetDirectoryName(storePath)!, Path.GetFileName(storePath) + "*"))
            if (File.Exists(f)) File.Delete(f);
        if (Directory.Exists(storePath + ".locks")) Directory.Delete(storePath + ".locks", recursive: true);
    }
}
