using NasSharp.Benchmarks;
using NasSharp.Data;
using NasSharp.Networks;
using NasSharp.Search.Nasi;
using NasSharp.Spaces;
using Xunit;

namespace NasSharp.Tests.Benchmarks;

[Collection(TorchCollection.Name)]
public class SearchComparisonTests(SharedNb201Table shared) : IClassFixture<SharedNb201Table>
{
    private sealed class MemoryJournal : ISearchComparisonJournal
    {
        public List<SearchRun> Runs { get; } = [];
        public SearchRun? Find(string method, int seed) => Runs.FirstOrDefault(r => r.Method == method && r.Seed == seed);
        public void Record(SearchRun run) => Runs.Add(run);
    }

    [Fact]
    public void NasisCellLeavesNoneOutAndItsArgmaxIsTheSameDeltaWithNoneAllowed()
    {
        // Random 3×8×8 "images" of 4 classes, a tiny supernet and a short search at τ = 1: enough for a Δ* whose plain
        // argmax puts none first on some edge.
        var rng = new Random(5);
        var features = Enumerable.Range(0, 32 * 3 * 8 * 8).Select(_ => (float)rng.NextDouble()).ToArray();
        var labels = Enumerable.Range(0, 32).Select(i => i % 4).ToArray();
        var data = new LabeledDataset("noise", features, labels, [3, 8, 8], ["a", "b", "c", "d"]);
        var settings = new SearchComparisonSettings
        {
            Nasi = new NasiOptions { Steps = 3, BatchSize = 8, Temperature = 1 },
            Supernet = new Nb201NetworkOptions { Channels = 4, CellsPerStage = 1, Affine = false, TrackRunningStats = false },
        };
        var journal = new MemoryJournal();
        var runs = new SearchComparison(shared.Table, data, settings).Run(["nasi-fix"], [1, 2], journal);
        Assert.Equal(2, runs.Count);
        foreach (var run in runs)
        {
            var cell = Nb201Genotype.Parse(run.Arch);
            var argmax = Nb201Genotype.Parse(run.ArgmaxArch!);
            Assert.DoesNotContain(Nb201Operation.None, cell.Operations);
            for (int e = 0; e < Nb201Genotype.EdgeCount; e++)
                if (argmax.Operations[e] != Nb201Operation.None) Assert.Equal(argmax.Operations[e], cell.Operations[e]);
            Assert.Equal(shared.Table.Lookup(cell).Accuracies, run.Accuracies);
            Assert.Equal(shared.Table.Lookup(argmax).Accuracies, run.ArgmaxAccuracies);
        }
        // The comparison is not idle: one of these searches does put none first somewhere.
        Assert.True(runs.Any(r => Nb201Genotype.Parse(r.ArgmaxArch!).Operations.Contains(Nb201Operation.None)), string.Join(" ", runs.Select(r => r.ArgmaxArch)));
        // Recorded once each, and a second pass finds them instead of searching again.
        Assert.Equal(runs, journal.Runs);
        var again = new SearchComparison(shared.Table, data, settings).Run(["nasi-fix"], [1, 2], journal);
        Assert.Equal(runs, again);
        Assert.Equal(2, journal.Runs.Count);
    }
}
