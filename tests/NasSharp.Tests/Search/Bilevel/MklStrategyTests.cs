using NasSharp.Data;
using NasSharp.Search;
using NasSharp.Spaces;
using Xunit;

namespace NasSharp.Tests.Search.Bilevel;

[Collection(TorchCollection.Name)]
public class MklStrategyTests
{
    /// <summary>Two classes whose label is the sign of x₁x₂ (not linearly separable) in 6 dimensions.</summary>
    internal static LabeledDataset Xor(int n, int seed)
    {
        var rng = new Random(seed);
        var f = new float[n * 6];
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < 6; j++) f[i * 6 + j] = (float)(2 * rng.NextDouble() - 1);
            y[i] = f[i * 6] * f[i * 6 + 1] > 0 ? 1 : 0;
        }
        return new LabeledDataset("xor", f, y, [6], ["a", "b"]);
    }

    internal static ExperimentData Data() => new(new DataSpec { Dataset = "iris" }, new DataSplits(Xor(120, 1), Xor(80, 2), Xor(80, 3)));

    [Fact]
    public void TheSearchWeightsEveryAssignmentAndSelectsTheHeaviest()
    {
        var space = new MlpSpace(depth: 2, width: 16, choices: [Activation.Relu, Activation.Identity], allowSkips: false);
        var strategy = StrategyRegistry.Default.Create("mkl", new Settings([new("train-points", "100"), new("val-points", "60"), new("steps", "40")]));
        var outcome = strategy.Run(new SearchContext(space, Data(), Seed: 1));
        Assert.Equal(4, outcome.Ranked.Count);
        Assert.Equal(1.0, outcome.Ranked.Sum(c => c.Score), 1e-12);
        Assert.Equal(outcome.Ranked[0].Arch, outcome.Arch);
        // The linear network (identity twice) cannot fit x₁x₂; every assignment with a relu can, and weighs more.
        var linear = outcome.Ranked.Single(c => c.Arch == "w16/identity-identity");
        Assert.Equal(outcome.Ranked.Count - 1, outcome.Ranked.ToList().IndexOf(linear));
        Assert.True(linear.Measures["validation_loss_alone"] > outcome.Ranked[0].Measures["validation_loss_alone"]);
        Assert.True(outcome.Ranked[0].Measures["validation_loss_mixture"] <= outcome.Ranked.Min(c => c.Measures["validation_loss_alone"]) + 1e-9);
    }

    [Fact]
    public void MoreSamplesThanTheSplitHasIsOneClearError()
    {
        var space = new MlpSpace(depth: 1, width: 8, choices: [Activation.Relu, Activation.Tanh]);
        var strategy = StrategyRegistry.Default.Create("mkl", new Settings([new("train-points", "50"), new("val-points", "500")]));
        var e = Assert.Throws<SettingException>(() => strategy.Run(new SearchContext(space, Data(), Seed: 1)));
        Assert.StartsWith("--val-points 500: the xor split has only 80 samples", e.Message);
    }
}
