using NasSharp.Experiments;
using NasSharp.Search.Bilevel;
using NasSharp.Spaces;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Search.Bilevel;

[Collection(TorchCollection.Name)]
public class PlantedActivationTests
{
    private static readonly PlantedSettings Small = new() { Dimension = 6, Width = 40, TrainPoints = 20, TestPoints = 50, Noise = 0 };

    [Fact]
    public void EveryCandidateInterpolatesTheTrainingSplitAndTheTeacherIsItsPlantedMixture()
    {
        using var scope = NewDisposeScope();
        using var problem = new PlantedProblem(Small, seed: 3);
        Assert.Equal(1.0, problem.AlphaStar.Sum(), 1e-12);
        Assert.Equal(0.7, problem.AlphaStar[problem.Dominant]);
        var (x, y) = problem.Sample(Small.TrainPoints);
        foreach (var a in PlantedMethods.SimplexGrid(4, 2))
        {
            var alpha = tensor(a, dtype: ScalarType.Float64);
            Assert.True(PlantedMethods.Risk(x, y, PlantedMethods.Readout(x, y, alpha), alpha) < 1e-20);
        }
        // Noiseless: with n ≥ p samples the least-squares readout at α* fits fresh samples exactly (it is θ*).
        var (many, labels) = problem.Sample(3 * Small.Width);
        var star = tensor(problem.AlphaStar, dtype: ScalarType.Float64);
        var (fresh, freshLabels) = problem.Sample(30);
        Assert.True(PlantedMethods.Risk(fresh, freshLabels, PlantedMethods.Readout(many, labels, star), star) < 1e-20);
    }

    [Fact]
    public void TheDifferentiableInterpolantIsTheMinimumNormOne()
    {
        using var scope = NewDisposeScope();
        using var problem = new PlantedProblem(Small, seed: 4);
        var (x, y) = problem.Sample(Small.TrainPoints);
        var alpha = tensor(new[] { 0.1, 0.2, 0.3, 0.4 }, dtype: ScalarType.Float64);
        var dual = PlantedMethods.InterpolantReadout(x, y, alpha);
        var pinv = PlantedMethods.Readout(x, y, alpha);
        Assert.True((dual - pinv).norm().item<double>() < 1e-6 * pinv.norm().item<double>());
    }

    [Fact]
    public void TheSimplexGridHasEveryCompositionOnce()
    {
        var grid = PlantedMethods.SimplexGrid(4, 4);
        Assert.Equal(35, grid.Count);   // C(4 + 3, 3)
        Assert.All(grid, a => Assert.Equal(1.0, a.Sum(), 1e-12));
        Assert.Equal(35, grid.Select(a => string.Join(",", a)).Distinct().Count());
    }

    [Fact]
    public void TheSummaryCountsRecoveriesAndFitsTheGapSlope()
    {
        var config = new PlantedConfig(Small, Seeds: 2, Multiples: [1, 4], Steps: 1, StepSize: 0.1, Ridge: 1e-3, AlsIterations: 1, GridDivisions: 2);
        PlantedPick Pick(string method, int n, int picked) => new(method, n, picked, [0.25, 0.25, 0.25, 0.25]);
        IReadOnlyList<PlantedPick> Picks(int right) => [.. PlantedExperiment.Methods.SelectMany(m => new[] { Pick(m, 4, m == "mkl" ? right : 3), Pick(m, 16, right) })];
        // Gaps c/√n_V on both seeds: the fitted slope is exactly −1/2.
        IReadOnlyList<PlantedGap> Gaps(double c) => [new(4, c / 2), new(16, c / 4)];
        var records = new[] { new PlantedSeedRecord(0, 1, [0.1, 0.7, 0.1, 0.1], Picks(1), Gaps(1), 0), new PlantedSeedRecord(1, 2, [0.1, 0.1, 0.7, 0.1], Picks(0), Gaps(3), 0) };
        var output = PlantedExperiment.Summarise(config, records, runId: null, seconds: 0);
        Assert.Equal(50, output.Recovery.Single(x => x.Method == "mkl" && x.ValPoints == 4).RecoveryRate);
        Assert.Equal(0, output.Recovery.Single(x => x.Method == "bilevel" && x.ValPoints == 4).RecoveryRate);
        Assert.Equal(50, output.Recovery.Single(x => x.Method == "bilevel" && x.ValPoints == 16).RecoveryRate);
        Assert.Equal(-0.5, output.GapSlope, 1e-12);
        Assert.Equal(25, output.Chance);
    }

    [Fact]
    public void OnOneSeedEveryMethodPicksAndTheGapShrinksWithValidationSize()
    {
        var config = new PlantedConfig(Small with { Noise = 0.05, TestPoints = 2000 }, Seeds: 1, Multiples: [2, 50], Steps: 20, StepSize: 0.2, Ridge: 1e-3, AlsIterations: 5, GridDivisions: 2);
        var record = PlantedExperiment.RunSeed(config, 0, seed: 11);
        Assert.Equal(2 * PlantedExperiment.Methods.Count, record.Picks.Count);
        Assert.All(record.Picks, p => Assert.Equal(1.0, p.Alpha.Sum(), 1e-9));
        Assert.True(record.Gaps[1].SupGap < record.Gaps[0].SupGap, $"gap at n_V = 200: {record.Gaps[1].SupGap}, at 8: {record.Gaps[0].SupGap}");
    }
}
