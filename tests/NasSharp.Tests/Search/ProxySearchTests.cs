using NasSharp.Data;
using NasSharp.Search;
using NasSharp.Spaces;
using Xunit;

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
}
