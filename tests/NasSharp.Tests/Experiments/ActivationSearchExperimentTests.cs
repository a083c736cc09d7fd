using NasSharp.Data;
using NasSharp.Experiments;
using NasSharp.Networks;
using NasSharp.Search;
using NasSharp.Search.Bilevel;
using NasSharp.Spaces;
using NasSharp.Store;
using NasSharp.Tests.Search.Bilevel;
using NasSharp.Training;
using Xunit;

namespace NasSharp.Tests.Experiments;

[Collection(TorchCollection.Name)]
public class ActivationSearchExperimentTests
{
    private static ActivationSearchExperiment Experiment(ExperimentData data) => new(
        new MlpSpace(depth: 2, width: 16, choices: [Activation.Relu, Activation.Identity], allowSkips: false), [data], truthSeeds: 2, searchSeeds: 1,
        new TrainingOptions { Epochs = 40, BatchSize = 30, LearningRate = 0.1 }, new NetworkOptions(), valPoints: [10, 40],
        new BilevelOptions { TrainPoints = 60, Steps = 3, InnerSteps = 2 }, new MklOptions { TrainPoints = 60, Steps = 5 },
        new SpectralOptions { TrainPoints = 60, Features = 4 }, new EigenSearchOptions { NtkBatch = 8 }, seed: 3);

    [Fact]
    public void TheGroundTruthAndEveryPicksAccuracyAreTheJournaledTrainingsMeansAndAResumeComputesNothing()
    {
        var journal = new MemoryJournal();
        var data = MklStrategyTests.Data();
        var output = Experiment(data).Run(new ExperimentContext { Journal = journal });

        // Recomputed from the journal's trainings: the mean test accuracy over the two seeds of each assignment.
        var trainings = journal.All<TruthEntry>("truth/").Select(t => t.Value).ToList();
        Assert.Equal(2 * 4, trainings.Count);
        var mean = trainings.GroupBy(t => t.Arch).ToDictionary(g => g.Key, g => g.Average(t => t.TestAccuracyPercent!.Value));
        var best = mean.MaxBy(kv => kv.Value);
        // Ties are broken by name, so compare the accuracy of the reported best, not its name.
        Assert.Equal(best.Value, mean[output.Best["iris"]], 1e-9);
        Assert.Equal(best.Value, output.BestTestAccuracyPercent["iris"], 1e-9);
        // A linear network cannot fit the sign of x₁x₂: identity twice is the worst assignment, every one with a relu beats it.
        Assert.Equal("w16/identity-identity", output.Truth[^1].Arch);
        Assert.True(output.Truth[^1].MeanTestAccuracyPercent < 70, $"{output.Truth[^1].MeanTestAccuracyPercent}");
        Assert.True(best.Value > 80, $"{best.Value}");

        // Eight methods: six at both validation sizes, eigen and training-loss once; each row is the journaled pick's mean.
        var picks = journal.All<ActivationPick>("pick/").Select(p => p.Value).ToList();
        Assert.Equal(6 * 2 + 2, picks.Count);
        foreach (var row in output.Methods.Where(m => m.Method != ActivationSearchExperiment.ValidationOracle))
        {
            var pick = picks.Single(p => p.Method == row.Method && p.ValPoints == row.ValPoints);
            Assert.Equal(pick.Arch, row.Picks.Single());
            Assert.Equal(mean[pick.Arch!], row.MeanTestAccuracyPercent!.Value, 1e-9);
            Assert.Equal(best.Value - mean[pick.Arch!], row.GapPoints!.Value, 1e-9);
        }

        var again = Experiment(data).Run(new ExperimentContext { Journal = new ComparisonExperimentTests.ThrowOnRecord(journal) });
        Assert.Equal(output.Methods.Select(m => (m.Method, m.ValPoints, m.GapPoints)), again.Methods.Select(m => (m.Method, m.ValPoints, m.GapPoints)));
    }

    [Fact]
    public void TheSmallestGoodValidationSizeIsTheStartOfTheLastRunOfSizesWithinHalfAPoint()
    {
        var config = new ActivationSearchConfig(new SpaceSpec("mlp", new Dictionary<string, string>()), [new DataSpec { Dataset = "iris" }], 1, 1,
            new TrainingOptions(), new NetworkOptions(), [8, 16, 32, 64], new BilevelOptions(), new MklOptions(), new SpectralOptions(), new EigenSearchOptions());
        // Test accuracies (%) a, b, c: a is the best (90); b is 0.4 below it (within), c 2 below (not).
        var truth = new[] { ("a", 90.0), ("b", 89.6), ("c", 88.0) }
            .Select((t, i) => ("iris", 0, new TruthEntry(i, t.Item1, 50, t.Item2, false, 0))).ToList();
        ActivationPick Pick(string method, int n, string arch) => new("iris", method, n, 0, arch, null, 0);
        var picks = new List<ActivationPick>
        {
            // bilevel: c, b, c, a: good only from 64 on (the good pick at 16 does not last).
            Pick("bilevel", 8, "c"), Pick("bilevel", 16, "b"), Pick("bilevel", 32, "c"), Pick("bilevel", 64, "a"),
            // mkl: good from 16 on.
            Pick("mkl", 8, "c"), Pick("mkl", 16, "b"), Pick("mkl", 32, "a"), Pick("mkl", 64, "b"),
            // spectral: never within at the largest size.
            Pick("spectral", 8, "a"), Pick("spectral", 16, "a"), Pick("spectral", 32, "a"), Pick("spectral", 64, "c"),
        };
        var o = ActivationSearchExperiment.Summarise(config, "mlp", 3, truth, picks, null, 0);
        Assert.Equal("a", o.Best["iris"]);
        var smallest = o.Degradation.ToDictionary(d => d.Method);
        Assert.Equal(64, smallest["bilevel"].SmallestValPoints);
        Assert.Equal(16, smallest["mkl"].SmallestValPoints);
        Assert.Null(smallest["spectral"].SmallestValPoints);
        Assert.False(smallest["spectral"].WithinAtLargest);
        Assert.Equal(2.0, o.Methods.Single(m => m.Method == "spectral" && m.ValPoints == 64).GapPoints!.Value, 1e-9);
        // The trained-validation choice: every entry has validation 50, the tie goes to the first in test order (a).
        Assert.Equal(0.0, o.Methods.Single(m => m.Method == ActivationSearchExperiment.ValidationOracle).GapPoints!.Value, 1e-9);
    }
}
