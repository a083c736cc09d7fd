using NasSharp.Data;
using NasSharp.Experiments;
using NasSharp.Networks;
using NasSharp.Proxies;
using NasSharp.Search;
using NasSharp.Spaces;
using NasSharp.Store;
using Xunit;

namespace NasSharp.Tests;

/// <summary>The README's C# cookbook, line for line, so that it keeps compiling and running as the library changes.</summary>
[Collection(TorchCollection.Name)]
public class CookbookTests
{
    [Fact]
    public void TheReadmesCookbookRuns()
    {
        var lines = new List<string>();
        try
        {
            // ---- the README's lines ----
            var space = SpaceRegistry.Default.Create("nb201", new Settings([new("cells", "1")]));
            var cell = space.Sample(new Random(1));
            using var network = space.BuildNetwork(cell, [3, 32, 32], classes: 10, new NetworkOptions(), seed: 1);
            NetworkCost cost = space.Cost(cell, [3, 32, 32], classes: 10);

            var data = new ExperimentData(new DataSpec { Dataset = "cifar10", TrainSize = "2000" }, DataDirectory.Resolve(null).Path, seed: 1);
            var (x, y) = data.Batches().Fixed(64, seed: 1).ToTensors();

            var evaluator = new ProxyEvaluator([ProxyRegistry.Get("naswot"), ProxyRegistry.Get("synflow")]);
            var scores = evaluator.Evaluate(() => space.BuildNetwork(cell, [3, 32, 32], 10, new NetworkOptions(), seed: 1), x, y, 10, seed: 1);

            var strategy = StrategyRegistry.Default.Create("proxy", new Settings([new("proxy", "naswot"), new("candidates", "10")]));
            SearchOutcome outcome = strategy.Run(new SearchContext(space, data, Seed: 1));

            var experiment = new SearchExperiment(space, data, strategy, seed: 1, table: space.GroundTruth(DataDirectory.Resolve(null).Path));
            string storePath = Path.Combine(Path.GetTempPath(), "nassharp-cookbook.db");
            SearchOutput output = ExperimentRun.Execute(experiment, storePath, "my search", new ExperimentContext());
            using var store = ResultsStore.Open(storePath);
            foreach (var run in store.ListRuns()) lines.Add($"{run.Id} {run.Kind} {run.Status}");
            // ---- end of the README's lines ----

            Assert.Equal(cost.Parameters, network.parameters().Sum(p => p.numel()));
            Assert.Equal(2, scores.Results.Count);
            Assert.Equal(10, outcome.Ranked.Count);
            // The stored run repeats the in-memory search: same seed, same ranking.
            Assert.Equal(outcome.Arch, output.Arch);
            Assert.NotNull(output.TableTestAccuracyPercent);
            Assert.Contains(lines, l => l.EndsWith("search Completed", StringComparison.Ordinal));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var f in Directory.GetFiles(Path.GetTempPath(), "nassharp-cookbook.db*")) File.Delete(f);
            var locks = Path.Combine(Path.GetTempPath(), "nassharp-cookbook.db.locks");
            if (Directory.Exists(locks)) Directory.Delete(locks, recursive: true);
        }
    }
}
