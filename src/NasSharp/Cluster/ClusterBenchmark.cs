using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using NasSharp.Experiments;
using NasSharp.Spaces;
using NasSharp.Store;

namespace NasSharp.Cluster;

/// <summary>What <c>nas bench cluster</c> runs: NB201 correlation items (every proxy listed, one fixed batch) on clusters of
/// each size in <see cref="Silos"/>, each silo a process of its own with <see cref="Threads"/> libtorch threads.</summary>
public sealed record ClusterBenchmarkConfig(IReadOnlyList<int> Silos, int Items, int Threads, string Proxies, int Batch, long Seed)
{
    public void Validate()
    {
        if (Silos.Count == 0 || Silos.Any(s => s < 1)) throw new SettingException("--silos: give cluster sizes of at least 1, e.g. 1,2.");
        if (Items < 1) throw new SettingException($"--items {Items}: must be at least 1.");
        if (Threads < 1) throw new SettingException($"--threads {Threads}: must be at least 1.");
    }
}

/// <param name="ItemsPerSilo">Timed items computed by each silo (by silo address).</param>
public sealed record ClusterSizeResult(int Silos, int Items, double Seconds, double ItemsPerSecond, IReadOnlyDictionary<string, int> ItemsPerSilo);

/// <param name="Speedup">Items per second of each cluster size over the first size's, measured in this run.</param>
/// <param name="StoreWritesPerSecond">Results the coordinator's store commits per second (one transaction each, as a run
/// journals them), measured on this machine in this run: the ceiling of a single coordinator's intake.</param>
/// <param name="RecordBytes">Mean size of a journaled record (JSON).</param>
public sealed record ClusterBenchmarkOutput(IReadOnlyList<ClusterSizeResult> Sizes, IReadOnlyDictionary<int, double> Speedup,
    double StoreWritesPerSecond, double RecordBytes, double RequestBytes, int Threads, int Batch, string Proxies);

/// <summary>
/// Items per second of a cluster of 1, 2, … silos on this machine, side by side in one run, and the coordinator's store
/// write rate. Each size gets a fresh cluster; a warm-up of two items per silo (each silo loads the dataset and draws the
/// fixed batch once) is not timed; the timed items are the same for every size.
/// </summary>
public static class ClusterBenchmark
{
    public static ClusterBenchmarkOutput Run(ClusterBenchmarkConfig config, IReadOnlyList<string> nas, string dataDirectory,
        IProgress<ExperimentProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var space = SpaceRegistry.Default.Create(Nb201Space.Name);
        var truth = space.GroundTruth(dataDirectory) ?? throw new SettingException("bench cluster needs the NAS-Bench-201 table in the data directory.");
        int warmUp = 2 * config.Silos.Max();
        var sampled = truth.Sample(warmUp + config.Items, Seeds.Rng(config.Seed, "cluster-bench"));
        var items = sampled.Select((e, i) => new ItemWork($"arch/{i}/cifar10",
            NasJson.Serialize(new CorrelationItem(i, e.Arch.Canonical, "cifar10", 10, e.TestAccuracyPercent["cifar10"])))).ToList();
        var experiment = new DispatchedExperiment(ExperimentKind.Correlate, NasJson.Serialize(new CorrelationConfig(SpaceSpec.Of(space),
            new Data.DataSpec { Dataset = "cifar10", TrainSize = "2000" }, items.Count, config.Proxies.Split(','), config.Batch, ["cifar10"], null)), config.Seed);

        var sizes = new List<ClusterSizeResult>();
        var records = new List<string>();
        foreach (int count in config.Silos)
        {
            progress?.Report(new ExperimentProgress("clusters", sizes.Count, config.Silos.Count, $"starting {count} silo{(count == 1 ? "" : "s")}"));
            using var silos = new LocalSilos(nas, count, config.Threads, dataDirectory);
            using var client = ClusterHosting.ConnectClient(silos.Address, cancellation).GetAwaiter().GetResult();
            var dispatcher = new ClusterDispatcher(client.Services.GetRequiredService<IClusterClient>());
            foreach (var _ in dispatcher.Run(experiment, items[..(2 * count)], cancellation)) { }
            var clock = Stopwatch.StartNew();
            var perSilo = new Dictionary<string, int>();
            int done = 0;
            foreach (var result in dispatcher.Run(experiment, items[warmUp..], cancellation))
            {
                perSilo[result.Worker] = perSilo.GetValueOrDefault(result.Worker) + 1;
                if (sizes.Count == 0) records.Add(result.RecordJson);
                progress?.Report(new ExperimentProgress($"{count} silo{(count == 1 ? "" : "s")}", ++done, config.Items, result.Worker));
            }
            double seconds = clock.Elapsed.TotalSeconds;
            sizes.Add(new ClusterSizeResult(count, config.Items, seconds, config.Items / seconds, perSilo));
        }
        var speedup = sizes.ToDictionary(s => s.Silos, s => s.ItemsPerSecond / sizes[0].ItemsPerSecond);
        double request = items.Average(i => i.PayloadJson.Length + i.Key.Length) + experiment.ConfigJson.Length;
        return new ClusterBenchmarkOutput(sizes, speedup, StoreWritesPerSecond(records), records.Average(r => (double)r.Length), request,
            config.Threads, config.Batch, config.Proxies);
    }

    /// <summary>Commits the records (repeated to at least 500) one transaction each into a fresh store, as a run's journal does.</summary>
    private static double StoreWritesPerSecond(IReadOnlyList<string> records)
    {
        var folder = Directory.CreateTempSubdirectory("nassharp-bench-store-").FullName;
        try
        {
            using var store = ResultsStore.Open(Path.Combine(folder, "results.db"));
            var run = store.StartRun(new RunSpec("correlate", "nas bench cluster", new { }, 0, new Dictionary<string, string>(), null));
            int writes = Math.Max(500, records.Count);
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < writes; i++) store.AddResult(run.Id, new ResultRecord($"arch/{i}", records[i % records.Count]));
            return writes / clock.Elapsed.TotalSeconds;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }
}
