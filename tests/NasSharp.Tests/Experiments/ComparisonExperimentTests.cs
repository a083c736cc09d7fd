using NasSharp.Benchmarks;
using NasSharp.Data;
using NasSharp.Experiments;
using NasSharp.Networks;
using NasSharp.Search.Nasi;
using NasSharp.Spaces;
using NasSharp.Store;
using NasSharp.Tests.Benchmarks;
using Xunit;

namespace NasSharp.Tests.Experiments;

[Collection(TorchCollection.Name)]
public class ComparisonExperimentTests(SharedNb201Table shared) : IClassFixture<SharedNb201Table>
{
    /// <summary>Random 3×8×8 "images" of 4 classes: a comparison's data without loading a dataset.</summary>
    private static ExperimentData Noise()
    {
        var rng = new Random(5);
        var features = Enumerable.Range(0, 32 * 3 * 8 * 8).Select(_ => (float)rng.NextDouble()).ToArray();
        var labels = Enumerable.Range(0, 32).Select(i => i % 4).ToArray();
        var data = new LabeledDataset("noise", features, labels, [3, 8, 8], ["a", "b", "c", "d"]);
        return new ExperimentData(new DataSpec { Dataset = "cifar10" }, new DataSplits(data, data, data));
    }

    [Fact]
    public void NasisCellLeavesNoneOutAndItsArgmaxIsTheSameDeltaWithNoneAllowed()
    {
        // A tiny supernet and a short search at τ = 1: enough for a Δ* whose plain argmax puts none first on some edge.
        var space = new Nb201Space(network: new Nb201NetworkOptions { Channels = 4, CellsPerStage = 1 });
        var settings = new ComparisonSettings { Nasi = new NasiOptions { Steps = 3, BatchSize = 8, Temperature = 1 } };
        var journal = new MemoryJournal();
        ComparisonExperiment Experiment() => new(space, Noise(), shared.Table, "unused", ["nasi-fix"], [1, 2], settings);
        var output = Experiment().Run(new ExperimentContext { Journal = journal });
        var runs = output.Methods[0].Runs;
        Assert.Equal(2, runs.Count);
        foreach (var run in runs)
        {
            var cell = Nb201Genotype.Parse(run.Arch);
            var argmax = Nb201Genotype.Parse(run.Derivations.Single(d => d.Rule == Nb201Relaxation.Argmax).Arch);
            Assert.DoesNotContain(Nb201Operation.None, cell.Operations);
            for (int e = 0; e < Nb201Genotype.EdgeCount; e++)
                if (argmax.Operations[e] != Nb201Operation.None) Assert.Equal(argmax.Operations[e], cell.Operations[e]);
            Assert.Equal(Nb201Table.AsGroundTruth(shared.Table.Lookup(cell)).TestAccuracyPercent, run.TestAccuracyPercent);
            Assert.Equal(shared.Table.Lookup(argmax).Accuracies.Cifar10Test, run.Derivations[0].TestAccuracyPercent!["cifar10"]);
        }
        // The comparison is not idle: one of these searches does put none first somewhere.
        Assert.Contains(runs, r => Nb201Genotype.Parse(r.Derivations[0].Arch).Operations.Contains(Nb201Operation.None));
        // The argmax gets a row of its own.
        Assert.Equal(["nasi-fix", "nasi-fix (argmax)"], output.Methods.Select(m => m.Method));
        // Each (method, seed) is recorded once, each search's steps below it; a second pass finds them instead of searching again.
        Assert.Equal(2, journal.All<MethodRun>("nasi-fix/").Count(r => r.Key.Count(c => c == '/') == 1));
        Assert.Equal(3, journal.All<NasiStepRecord>("nasi-fix/1/step/").Count);
        var again = Experiment().Run(new ExperimentContext { Journal = new ThrowOnRecord(journal) });
        Assert.Equal(runs.Select(r => (r.Arch, r.Seconds)), again.Methods[0].Runs.Select(r => (r.Arch, r.Seconds)));
    }

    /// <summary>A journal that finds everything and refuses new records: a second pass must not compute anything.</summary>
    internal sealed class ThrowOnRecord(IRunJournal inner) : IRunJournal
    {
        public bool TryFind<T>(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out T value) => inner.TryFind(key, out value);
        public void Record<T>(string key, T value, string? arch = null, string? space = null) => throw new InvalidOperationException($"{key} computed again");
        public IReadOnlyList<(string Key, T Value)> All<T>(string prefix) => inner.All<T>(prefix);
    }
}
