using NasSharp.Data;
using NasSharp.Networks;
using NasSharp.Proxies;
using NasSharp.Search;
using NasSharp.Spaces;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Search;

[Collection(TorchCollection.Name)]
public class ProxySearchTests
{
    /// <summary>Average rank of <paramref name="v"/> among <paramref name="all"/> counted pairwise (non-finite below every finite value).</summary>
    private static double CountedRank(double v, IReadOnlyList<double> all)
    {
        static double Key(double x) => double.IsFinite(x) ? x : double.NegativeInfinity;
        int below = all.Count(o => Key(o) < Key(v)), tied = all.Count(o => Key(o) == Key(v));
        return below + (tied + 1) / 2.0;
    }

    [Theory]
    [InlineData("az_nas", "az_expressivity,az_progressivity,az_trainability,flops")]
    [InlineData("ensemble", "az_expressivity,az_progressivity,az_trainability,flops,swap,meco,synflow")]
    [InlineData("ensemble_full", "az_expressivity,az_progressivity,az_trainability,flops,swap,meco,synflow,zico,ntk_min_eig_bnfix_tr")]
    public void AnAggregateRanksTheCandidatesBySumOfLogRanksOfTheirComponents(string aggregate, string componentList)
    {
        var space = SpaceRegistry.Default.Create("nb201", new Settings([new("cells", "1"), new("channels", "4")]));
        var data = new ExperimentData(new DataSpec { Dataset = "cifar10", TrainSize = "2000" }, DataDirectory.Resolve(null).Path, seed: 1);
        var strategy = StrategyRegistry.Default.Create("proxy", new Settings([new("proxy", aggregate), new("candidates", "6"), new("batch", "8")]));
        var outcome = strategy.Run(new SearchContext(space, data, Seed: 3));

        Assert.Equal(6, outcome.Ranked.Count);
        var components = componentList.Split(',');
        foreach (var c in outcome.Ranked)
        {
            double expected = components.Sum(k => Math.Log(CountedRank(c.Measures[k], [.. outcome.Ranked.Select(o => o.Measures[k])]) / 6));
            Assert.Equal(expected, c.Score, 12);
        }
        Assert.Equal(outcome.Ranked.Max(c => c.Score), outcome.Ranked[0].Score);
        Assert.Equal(outcome.Ranked[0].Arch, outcome.Arch);
    }

    [Fact]
    public void ProxySeedsAverageTheScoreOverEvaluationsOnTheirOwnBatchesAndInitialisations()
    {
        // References: evaluation 1 is the single-evaluation search's score (its batch and initialisation); evaluation 2 is
        // naswot scored by hand on the batch of stream ("proxy-batch", 1) and the network of stream ("proxy-init", arch, 1).
        var space = SpaceRegistry.Default.Create("nb201", new Settings([new("cells", "1"), new("channels", "4")]));
        var data = new ExperimentData(new DataSpec { Dataset = "cifar10", TrainSize = "2000" }, DataDirectory.Resolve(null).Path, seed: 1);
        SearchOutcome Search(int seeds) => StrategyRegistry.Default.Create("proxy",
            new Settings([new("proxy", "naswot"), new("candidates", "4"), new("batch", "8"), new("proxy-seeds", seeds.ToString())]))
            .Run(new SearchContext(space, data, Seed: 3));
        var one = Search(1).Ranked.ToDictionary(c => c.Arch, c => c.Score);
        var two = Search(2);

        var batch = data.Batches().Fixed(8, NasSharp.Seeds.Derive(3, "proxy-batch", 1));
        using var scope = NewDisposeScope();
        var (x, y) = batch.ToTensors(CPU);
        var evaluator = new ProxyEvaluator([ProxyRegistry.Get("naswot")]);
        Assert.Equal(4, two.Ranked.Count);
        foreach (var c in two.Ranked)
        {
            var genotype = space.Parse(c.Arch);
            long seed = NasSharp.Seeds.Derive(3, "proxy-init", c.Arch, 1);
            double second = evaluator.Evaluate(s => space.BuildNetwork(genotype, batch.SampleShape, batch.NumClasses, new NetworkOptions(), s, CPU), x, y, batch.NumClasses, seed)["naswot"].Value;
            Assert.NotEqual(one[c.Arch], second, 9); // another batch and initialisation
            Assert.Equal((one[c.Arch] + second) / 2, c.Score, 12);
        }
    }

    [Fact]
    public void ProxySeedsBelowOneAreRefusedWithTheSetting()
    {
        var e = Assert.Throws<SettingException>(() => StrategyRegistry.Default.Create("proxy", new Settings([new("proxy-seeds", "0")])));
        Assert.Equal("--proxy-seeds 0: need at least one evaluation per candidate.", e.Message);
    }
}
