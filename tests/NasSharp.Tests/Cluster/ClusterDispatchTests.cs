using NasSharp.Cluster;
using NasSharp.Data;
using NasSharp.Experiments;
using NasSharp.Proxies;
using NasSharp.Search;
using NasSharp.Spaces;
using NasSharp.Store;
using Orleans.TestingHost;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Cluster;

/// <summary>
/// A correlation run computed by the workers of a real Orleans cluster (two in-process silos on loopback) against the same
/// run computed in this process: the reference is the single-process path, item by item.
/// </summary>
[Collection(TorchCollection.Name)]
public class ClusterDispatchTests
{
    private static readonly string DataDir = DataDirectory.Resolve(null).Path;

    private static CorrelationExperiment Correlation(string proxies = "params,grad_norm,naswot,synflow")
    {
        var space = SpaceRegistry.Default.Create(Nb201Space.Name);
        var data = new ExperimentData(new DataSpec { Dataset = "cifar10", TrainSize = "2000" }, DataDir, seed: 5);
        return new CorrelationExperiment(space, data, space.GroundTruth(DataDir)!, ProxyRegistry.Parse(proxies), n: 5, batch: 8, seed: 5,
            targets: ["cifar10", "cifar100"]);
    }

    private static async Task<InProcessTestCluster> Cluster(string dataDirectory, short silos = 2)
    {
        var builder = new InProcessTestClusterBuilder(silos);
        builder.ConfigureSilo((_, silo) => ClusterHosting.ConfigureWorker(silo, new WorkerSettings(dataDirectory, CPU), TimeSpan.FromSeconds(2)));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    [Fact]
    public async Task TwoSilosStoreTheRecordsOfTheSingleProcessRun()
    {
        var (local, localOutput, remote, remoteOutput, recorder) = await InProcessAndOnCluster(() => Correlation());

        var expected = local.All<ProxyEvaluationRecord>("arch/").ToDictionary(r => r.Key, r => r.Value);
        var actual = remote.All<ProxyEvaluationRecord>("arch/").ToDictionary(r => r.Key, r => r.Value);
        Assert.Equal(10, expected.Count);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (key, e) in expected)
        {
            var a = actual[key];
            Assert.Equal((e.Index, e.Arch, e.Target, e.AccuracyPercent), (a.Index, a.Arch, a.Target, a.AccuracyPercent));
            // Exactly: the same seed, weights, batch and libtorch thread count give the same bits on any silo.
            Assert.Equal(NasJson.Serialize(e.Scores), NasJson.Serialize(a.Scores));
            Assert.Equal(NasJson.Serialize(e.Reasons), NasJson.Serialize(a.Reasons));
        }
        Assert.Equal(NasJson.Serialize(localOutput.Proxies.ToDictionary(p => p.Key, p => p.Value.Targets)),
            NasJson.Serialize(remoteOutput.Proxies.ToDictionary(p => p.Key, p => p.Value.Targets)));

        // Every item once, from the silos (each slot's grain placed on its own silo), and both silos did work.
        Assert.Equal(10, recorder.Done.Count);
        Assert.Equal(10, recorder.Done.Select(d => d.Key).Distinct().Count());
        Assert.Equal(recorder.Silos.Order(), recorder.Done.Select(d => d.Worker).Distinct().Order());
    }

    [Fact]
    public async Task TwoSilosTrainTheTruthRunOfTheSingleProcessRun()
    {
        TruthExperiment Truth() => new(SpaceRegistry.Default.Create(MlpSpace.Name, new Settings([new("depth", "2"), new("width", "16")])),
            new ExperimentData(new DataSpec { Dataset = "iris" }, DataDir, seed: 2), n: 4,
            new NasSharp.Training.TrainingOptions { Epochs = 2, BatchSize = 16 }, seed: 2);
        var (_, localOutput, _, remoteOutput, recorder) = await InProcessAndOnCluster(Truth);

        Assert.Equal(4, recorder.Done.Count);
        Assert.Equal(localOutput.Entries.Select(e => (e.Index, e.Arch, e.ValidationAccuracyPercent, e.TestAccuracyPercent, e.Diverged)),
            remoteOutput.Entries.Select(e => (e.Index, e.Arch, e.ValidationAccuracyPercent, e.TestAccuracyPercent, e.Diverged)));
        Assert.Equal(recorder.Silos.Order(), recorder.Done.Select(d => d.Worker).Distinct().Order());
    }

    public static TheoryData<string> CandidateSearches => ["eigen", "proxy"];

    /// <summary>A search's candidates scored by the silos against the same search in this process: the same ranking, scores and
    /// measures, and the same architecture selected (the eigen search also trains its best candidate, in this process).</summary>
    [Theory]
    [MemberData(nameof(CandidateSearches))]
    public async Task TwoSilosScoreTheCandidatesOfTheSingleProcessSearch(string strategyName)
    {
        SearchExperiment Search()
        {
            if (strategyName == "eigen")
            {
                var mlp = SpaceRegistry.Default.Create(MlpSpace.Name, new Settings([new("depth", "2"), new("width", "16")]));
                var options = new EigenSearchOptions { Candidates = 5, TopK = 1, NtkBatch = 12, Training = new NasSharp.Training.TrainingOptions { Epochs = 1, BatchSize = 16 } };
                return new SearchExperiment(mlp, new ExperimentData(new DataSpec { Dataset = "iris" }, DataDir, seed: 3), new EigenSearch(options), seed: 3);
            }
            var nb201 = SpaceRegistry.Default.Create(Nb201Space.Name);
            return new SearchExperiment(nb201, new ExperimentData(new DataSpec { Dataset = "cifar10", TrainSize = "2000" }, DataDir, seed: 3),
                new ProxySearch(new ProxySearchOptions { Proxy = "naswot", Candidates = 5, Batch = 8 }), seed: 3);
        }
        var (local, localOutput, remote, remoteOutput, recorder) = await InProcessAndOnCluster(Search);

        static string Scores(MemoryJournal journal) => string.Join("\n", journal.All<ScoredCandidate>("score/").OrderBy(r => r.Key)
            .Select(r => $"{r.Key} {NasJson.Serialize(r.Value with { Seconds = 0 })}"));
        Assert.Equal(5, local.All<ScoredCandidate>("score/").Count());
        Assert.Equal(Scores(local), Scores(remote));
        static string Ranking(SearchOutput o) => string.Join("\n", o.Ranked.Select(c => NasJson.Serialize(c with { Seconds = 0 })));
        Assert.Equal(Ranking(localOutput), Ranking(remoteOutput));
        Assert.NotNull(localOutput.Arch);
        Assert.Equal(localOutput.Arch, remoteOutput.Arch);

        Assert.Equal(5, recorder.Done.Count);
        Assert.Equal(recorder.Silos.Order(), recorder.Done.Select(d => d.Worker).Distinct().Order());
    }

    /// <summary>A comparison's (method, seed) searches run by the silos against the same comparison in this process: the same
    /// architectures found, hence the same accuracies, per method and seed.</summary>
    [Fact]
    public async Task TwoSilosRunTheSearchesOfTheSingleProcessComparison()
    {
        ComparisonExperiment Comparison()
        {
            var space = SpaceRegistry.Default.Create(Nb201Space.Name);
            return new ComparisonExperiment(space, new ExperimentData(new DataSpec { Dataset = "cifar10", TrainSize = "2000" }, DataDir, 0), space.GroundTruth(DataDir)!,
                DataDir, ["eigen", "naswot"], [1, 2], new ComparisonSettings { Candidates = 3, ScoreBatch = 8 });
        }
        var (local, localOutput, remote, remoteOutput, recorder) = await InProcessAndOnCluster(Comparison);

        string[] keys = ["eigen/1", "eigen/2", "naswot/1", "naswot/2"];
        static string Runs(MemoryJournal journal, string[] keys) => string.Join("\n", keys.Select(k =>
            $"{k} {(journal.TryFind<MethodRun>(k, out var r) ? NasJson.Serialize(r with { Seconds = 0 }) : "missing")}"));
        Assert.DoesNotContain("missing", Runs(local, keys));
        Assert.Equal(Runs(local, keys), Runs(remote, keys));
        static string Summaries(ComparisonOutput o) => string.Join("\n", o.Methods.Select(m => $"{m.Method} {NasJson.Serialize(m.TestAccuracyPercent)}"));
        Assert.Equal(Summaries(localOutput), Summaries(remoteOutput));

        Assert.Equal(4, recorder.Done.Count);
        Assert.Equal(recorder.Silos.Order(), recorder.Done.Select(d => d.Worker).Distinct().Order());
    }

    /// <summary>The items <c>nas bench cluster --workload mlp-eigen</c> times, computed by two in-process silos, against the
    /// eigen search with the same options run in this process: they are that search's candidates, scored alike.</summary>
    [Fact]
    public async Task TheMlpEigenBenchmarkItemsOnTwoSilosAreTheSingleProcessSearchsCandidates()
    {
        var config = new ClusterBenchmarkConfig([1, 2], Items: 4, Threads: 1, Seed: 7, ClusterWorkload.MlpEigen);
        var (experiment, items, _) = ClusterBenchmark.Workload(config, 4, DataDir);

        var mlp = SpaceRegistry.Default.Create(MlpSpace.Name, new Settings([new("width", $"{ClusterBenchmark.MlpEigenWidth}")]));
        var options = new EigenSearchOptions { Candidates = 4, TopK = 0, NtkBatch = ClusterBenchmark.MlpEigenBatch, NtkSeeds = ClusterBenchmark.MlpEigenInitializations };
        var local = new MemoryJournal();
        new SearchExperiment(mlp, new ExperimentData(new DataSpec { Dataset = "digits" }, DataDir, seed: 7), new EigenSearch(options), seed: 7)
            .Run(new ExperimentContext { Journal = local });

        await using var cluster = await Cluster(DataDir);
        var done = new ClusterDispatcher(cluster.Client).Run(experiment, items, CancellationToken.None).ToList();

        static string Scored(string json) => NasJson.Serialize(NasJson.Deserialize<ScoredCandidate>(json) with { Seconds = 0 });
        var expected = local.All<ScoredCandidate>("score/").OrderBy(r => r.Key).Select(r => $"{r.Key} {NasJson.Serialize(r.Value with { Seconds = 0 })}").ToList();
        Assert.Equal(4, expected.Count);
        Assert.Equal(expected, done.OrderBy(d => d.Key).Select(d => $"{d.Key} {Scored(d.RecordJson)}"));
        Assert.Equal(2, done.Select(d => d.Worker).Distinct().Count());
    }

    [Fact]
    public async Task AWorkerMissingTheDatasetFailsTheRunWithOneLine()
    {
        var empty = Directory.CreateTempSubdirectory("nassharp-nodata-").FullName;
        try
        {
            await using var cluster = await Cluster(empty, silos: 1);
            var e = Assert.Throws<ClusterException>(() =>
                Correlation("params").Run(new ExperimentContext { Dispatcher = new ClusterDispatcher(cluster.Client) }));
            Assert.DoesNotContain('\n', e.Message);
            // Whichever of the silo's two items in flight answers first names the run's failure.
            Assert.Matches(@"^item arch/0/cifar10{0,2} failed on silo S127\.0\.0\.1:\d+:\d+: ", e.Message);
            Assert.Contains("cifar10", e.Message[e.Message.IndexOf(':')..]);
        }
        finally { Directory.Delete(empty, recursive: true); }
    }

    /// <summary>The experiment run in this process, then on two in-process silos: each run's journal and output, and what the
    /// cluster computed where.</summary>
    private static async Task<(MemoryJournal Local, T LocalOutput, MemoryJournal Remote, T RemoteOutput, RecordingDispatcher Recorder)> InProcessAndOnCluster<T>(
        Func<IExperiment<T>> experiment)
    {
        var local = new MemoryJournal();
        var localOutput = experiment().Run(new ExperimentContext { Journal = local });
        await using var cluster = await Cluster(DataDir);
        var recorder = new RecordingDispatcher(new ClusterDispatcher(cluster.Client)) { Silos = [.. cluster.Silos.Select(s => s.SiloAddress.ToString())] };
        var remote = new MemoryJournal();
        var remoteOutput = experiment().Run(new ExperimentContext { Journal = remote, Dispatcher = recorder });
        return (local, localOutput, remote, remoteOutput, recorder);
    }

    private sealed class RecordingDispatcher(IItemDispatcher inner) : IItemDispatcher
    {
        public List<ItemDone> Done { get; } = [];
        public IReadOnlyList<string> Silos { get; init; } = [];

        public IEnumerable<ItemDone> Run(DispatchedExperiment experiment, IReadOnlyList<ItemWork> items, CancellationToken cancellation)
        {
            foreach (var done in inner.Run(experiment, items, cancellation))
            {
                Done.Add(done);
                yield return done;
            }
        }
    }
}
