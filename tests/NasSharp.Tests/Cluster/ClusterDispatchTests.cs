using NasSharp.Cluster;
using NasSharp.Data;
using NasSharp.Experiments;
using NasSharp.Proxies;
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
        var local = new MemoryJournal();
        var localOutput = Correlation().Run(new ExperimentContext { Journal = local });

        await using var cluster = await Cluster(DataDir);
        var recorder = new RecordingDispatcher(new ClusterDispatcher(cluster.Client));
        var remote = new MemoryJournal();
        var remoteOutput = Correlation().Run(new ExperimentContext { Journal = remote, Dispatcher = recorder });

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
        var silos = cluster.Silos.Select(s => s.SiloAddress.ToString()).Order().ToList();
        Assert.Equal(silos, recorder.Done.Select(d => d.Worker).Distinct().Order().ToList());
    }

    [Fact]
    public async Task TwoSilosTrainTheTruthRunOfTheSingleProcessRun()
    {
        TruthExperiment Truth() => new(SpaceRegistry.Default.Create(MlpSpace.Name, new Settings([new("depth", "2"), new("width", "16")])),
            new ExperimentData(new DataSpec { Dataset = "iris" }, DataDir, seed: 2), n: 4,
            new NasSharp.Training.TrainingOptions { Epochs = 2, BatchSize = 16 }, seed: 2);
        var localOutput = Truth().Run(new ExperimentContext());

        await using var cluster = await Cluster(DataDir);
        var recorder = new RecordingDispatcher(new ClusterDispatcher(cluster.Client));
        var remoteOutput = Truth().Run(new ExperimentContext { Dispatcher = recorder });

        Assert.Equal(4, recorder.Done.Count);
        Assert.Equal(localOutput.Entries.Select(e => (e.Index, e.Arch, e.ValidationAccuracyPercent, e.TestAccuracyPercent, e.Diverged)),
            remoteOutput.Entries.Select(e => (e.Index, e.Arch, e.ValidationAccuracyPercent, e.TestAccuracyPercent, e.Diverged)));
        Assert.Equal(2, recorder.Done.Select(d => d.Worker).Distinct().Count());
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

    private sealed class RecordingDispatcher(IItemDispatcher inner) : IItemDispatcher
    {
        public List<ItemDone> Done { get; } = [];

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
