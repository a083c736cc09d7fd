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
    public void TheBilevelStrategysLowerLevelReachesTheMinimumNormInterpolantOfThePlantedStudent()
    {
        using var scope = NewDisposeScope();
        // n_T below d: the features' linear part alone has full rank on the training split, so the Gram matrix is well
        // conditioned and gradient descent converges in a few thousand steps (with d = 6 it needs orders of magnitude more).
        var settings = Small with { Dimension = 30, Width = 60 };
        using var problem = new PlantedProblem(settings, seed: 5);
        var (x, y) = problem.Sample(settings.TrainPoints);
        using var supernet = new PlantedSupernet(settings.Activations, settings.Width);
        // One α step after the weight steps: the weights were fitted at uniform α, the pseudo-inverse's interpolant there.
        var result = BilevelSearch.Run(supernet, (x, y), (x, y), new BilevelOptions { Steps = 1, InnerSteps = 2000, WeightLr = 1.0, Momentum = 0.9, AlphaLr = 1e-9 });
        var uniform = full(4, 0.25, dtype: ScalarType.Float64);
        var theta = supernet.parameters().Single().detach() / Math.Sqrt(settings.Width);
        var pinv = PlantedMethods.Readout(x, y, uniform);
        double error = (theta - pinv).norm().item<double>() / pinv.norm().item<double>();
        Assert.True(error < 1e-6, $"relative distance to the pseudo-inverse readout {error}");
        Assert.True(result.TrainLoss < 1e-12, $"training loss {result.TrainLoss}");
    }

    [Fact]
    public void TheRegressionHypergradientOfThePlantedStudentIsItsHandDerivedForm()
    {
        using var scope = NewDisposeScope();
        using var problem = new PlantedProblem(Small, seed: 6);
        var (x, y) = problem.Sample(12);
        using var supernet = new PlantedSupernet(Small.Activations, Small.Width);
        var theta = supernet.parameters().Single();
        using (no_grad()) theta.copy_(randn(Small.Width, 1, dtype: ScalarType.Float64));
        var logits = tensor(new[] { 0.3, -0.2, 0.5, 0.1 }, dtype: ScalarType.Float64);
        var alpha = logits.reshape(1, 4).clone().requires_grad_(true);
        var g = autograd.grad([BilevelSearch.Loss(supernet, [alpha], (x, y), detachAlpha: false)], [alpha])[0].reshape(4);

        // L = (1/2n) Σ_n r_n², r_n = Σ_i w_i u_{n,i} − y_n with u_{n,i} = ⟨θ, φ_i(x_n)⟩/√p and w = softmax(α):
        // ∂L/∂α_j = (1/n) Σ_n r_n w_j (u_{n,j} − Σ_i w_i u_{n,i}).
        var w = softmax(logits, 0);
        var u = einsum("nph,pc->nh", x, theta.detach()) / Math.Sqrt(Small.Width);
        var f = u.mv(w);
        var r = f - y.reshape(-1);
        var expected = (r.unsqueeze(1) * w.unsqueeze(0) * (u - f.unsqueeze(1))).mean(new long[] { 0 });
        Assert.True((g - expected).abs().max().item<double>() < 1e-12 * expected.abs().max().item<double>() + 1e-15);
        Assert.True(expected.abs().max().item<double>() > 1e-3);
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
        var config = new PlantedConfig(Small, Seeds: 2, Multiples: [1, 4], PlantedExperiment.DefaultBilevel, new MklOptions(), 1, 0.1, AlsIterations: 1, GridDivisions: 2);
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
        // The output names the teacher it measured, so a stored JSON is read without its command.
        Assert.Equal((6, 0.0, 0.7), (output.Dimension, output.Noise, output.Dominant));
    }

    [Fact]
    public void OnOneSeedEveryMethodPicksAndTheGapShrinksWithValidationSize()
    {
        var config = new PlantedConfig(Small with { Noise = 0.05, TestPoints = 20_000 }, Seeds: 1, Multiples: [2, 50], PlantedExperiment.DefaultBilevel with { Steps = 10 },
            new MklOptions { Steps = 20 }, 20, 0.2, AlsIterations: 5, GridDivisions: 2);
        PlantedExperiment.Validate(config);
        var record = PlantedExperiment.RunSeed(config, 0, seed: 11);
        Assert.Equal(2 * PlantedExperiment.Methods.Count, record.Picks.Count);
        Assert.All(record.Picks, p => Assert.Equal(1.0, p.Alpha.Sum(), 1e-9));
        Assert.True(record.Gaps[1].SupGap < record.Gaps[0].SupGap, $"gap at n_V = 200: {record.Gaps[1].SupGap}, at 8: {record.Gaps[0].SupGap}");

        // The gap and the oracles depend on no method: measured alone they are the same, and nothing else is picked.
        var gapOnly = PlantedExperiment.RunSeed(config with { GapOnly = true }, 0, seed: 11);
        Assert.Equal(record.Gaps, gapOnly.Gaps);
        Assert.Equal(record.Picks.Where(p => PlantedExperiment.Oracles.Contains(p.Method)).Select(p => (p.Method, p.ValPoints, p.Picked, string.Join(",", p.Alpha))),
            gapOnly.Picks.Select(p => (p.Method, p.ValPoints, p.Picked, string.Join(",", p.Alpha))));
        Assert.Equal(PlantedExperiment.Oracles, PlantedExperiment.Summarise(config with { GapOnly = true }, [gapOnly], runId: null, seconds: 0).Recovery.Select(x => x.Method).Distinct());

        // A population sample below 100 × the largest n_V (200) is refused.
        var e = Assert.Throws<SettingException>(() => PlantedExperiment.Validate(config with { Problem = config.Problem with { TestPoints = 19_999 } }));
        Assert.Contains("--test-points 19999", e.Message);
    }

    [Fact]
    public void TheValidationOracleIsTheGridAlphaOfLeastValidationRiskOfTheDualInterpolant()
    {
        // Reference: the interpolant in its dual form Zᵀ(ZZᵀ)⁻¹y (the experiment uses the pseudo-inverse), on the same samples.
        var config = new PlantedConfig(Small with { Noise = 0.05, TestPoints = 4_000 }, Seeds: 1, Multiples: [2, 10], PlantedExperiment.DefaultBilevel, new MklOptions(), 1, 0.1,
            AlsIterations: 1, GridDivisions: 4) { GapOnly = true };
        var record = PlantedExperiment.RunSeed(config, 0, seed: 5);
        using var scope = NewDisposeScope();
        using var problem = new PlantedProblem(config.Problem, 5);
        var (trainX, trainY) = problem.Sample(config.Problem.TrainPoints);
        var (valX, valY) = problem.Sample(40);
        var grid = PlantedMethods.SimplexGrid(4, 4);
        foreach (var n in new[] { 8, 40 })
        {
            var risks = grid.Select(a =>
            {
                var alpha = tensor(a, dtype: ScalarType.Float64);
                return PlantedMethods.Risk(valX.narrow(0, 0, n), valY.narrow(0, 0, n), PlantedMethods.InterpolantReadout(trainX, trainY, alpha), alpha);
            }).ToArray();
            var pick = record.Picks.Single(p => p.Method == PlantedExperiment.ValidationOracle && p.ValPoints == n);
            int index = grid.Select((a, i) => (a, i)).Single(x => x.a.SequenceEqual(pick.Alpha)).i;
            Assert.True(risks[index] <= risks.Min() * (1 + 1e-6), $"n_V = {n}: the pick's validation risk {risks[index]}, the grid's least {risks.Min()}");
            Assert.True(risks.Max() > risks[index] * 1.01, "the grid's validation risks should differ");
            Assert.Equal(PlantedMethods.ArgMax(pick.Alpha), pick.Picked);
        }
    }

    [Fact]
    public void ThePopulationRiskOfTheTeacherIsHalfTheNoiseVariance()
    {
        // R(θ*, α*) = ½ E[(f* − f* − ε)²] = ½σ² exactly: the data term is zero on every input, whatever the sample.
        using var scope = NewDisposeScope();
        using var problem = new PlantedProblem(Small with { Noise = 0.05, TestPoints = 4500 }, seed: 5);
        var star = tensor(problem.AlphaStar, dtype: ScalarType.Float64);
        var risks = problem.PopulationRisks([(star, problem.TeacherReadout)]);
        Assert.Equal(0.5 * 0.05 * 0.05, risks[0], 1e-15);
    }
}
