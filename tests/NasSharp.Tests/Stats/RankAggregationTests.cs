using NasSharp.Proxies;
using NasSharp.Stats;
using Xunit;

namespace NasSharp.Tests.Stats;

public class RankAggregationTests
{
    [Fact]
    public void TheAggregateIsTheSumOfLogRanksOverN()
    {
        // Component 1: 3, 1, 2 and NaN rank 4, 2, 3 and 1 (non-finite below every finite score).
        // Component 2: 5, 5, 1, 7 rank 2.5, 2.5, 1, 4 (the tie shares ranks 2 and 3).
        double[] first = [3, 1, 2, double.NaN], second = [5, 5, 1, 7];
        var s = RankAggregation.SumOfLogRanks([first, second]);
        double[] expected =
        [
            Math.Log(4 / 4.0) + Math.Log(2.5 / 4),
            Math.Log(2 / 4.0) + Math.Log(2.5 / 4),
            Math.Log(3 / 4.0) + Math.Log(1 / 4.0),
            Math.Log(1 / 4.0) + Math.Log(4 / 4.0),
        ];
        for (int a = 0; a < 4; a++) Assert.Equal(expected[a], s[a], 12);
        // Hand ranking: candidate 0 (−0.47), 1 (−1.16), 3 (−1.39), 2 (−1.67): 3 is best on one score and worst on the
        // other, 2 is middling on one and worst on the other.
        Assert.Equal([0, 1, 3, 2], Enumerable.Range(0, 4).OrderByDescending(a => s[a]).ToArray());
    }

    [Fact]
    public void NonFiniteScoresTieBelowEveryFiniteOne()
    {
        Assert.Equal([1.5, 3, 1.5, 4], RankAggregation.RanksNonFiniteLast([double.NegativeInfinity, 2, double.NaN, 5]));
    }

    [Fact]
    public void AzNasAggregatesItsThreeStageProxiesAndFlops()
    {
        var selection = ProxyRegistry.ParseSelection("naswot,az_nas");
        Assert.Equal(["naswot", "az_expressivity", "az_progressivity", "az_trainability", "flops"], selection.Proxies.Select(p => p.Name).ToArray());
        Assert.Equal("az_nas", Assert.Single(selection.Aggregates).Name);
        var scores = new[]
        {
            new Dictionary<string, double> { ["az_expressivity"] = 1, ["az_progressivity"] = 1, ["az_trainability"] = 1, ["flops"] = 1 },
            new Dictionary<string, double> { ["az_expressivity"] = 2, ["az_progressivity"] = 2, ["az_trainability"] = 2, ["flops"] = 2 },
        };
        Assert.Equal([4 * Math.Log(0.5), 0], selection.Aggregates[0].Score(scores));
        Assert.Throws<ArgumentException>(() => ProxyRegistry.ParseSelection("az_nas,az_nas"));
    }
    [Fact]
    public void TheEnsembleSharesAzNasComponentsAndWeighsItsSevenEqually()
    {
        var selection = ProxyRegistry.ParseSelection("az_nas,ensemble");
        Assert.Equal(["az_expressivity", "az_progressivity", "az_trainability", "flops", "swap", "meco", "synflow"],
            selection.Proxies.Select(p => p.Name).ToArray());
        var ensemble = selection.Aggregates.Single(a => a.Name == "ensemble");
        // Three candidates: the first is best on the AZ-NAS four and worst on swap, meco and synflow; the second is the
        // reverse; the third is in the middle on all seven. Ranks over N = 3 by hand: 4 log(3/3) + 3 log(1/3),
        // 4 log(1/3) + 3 log(3/3), 7 log(2/3).
        string[] az = ["az_expressivity", "az_progressivity", "az_trainability", "flops"], rest = ["swap", "meco", "synflow"];
        Dictionary<string, double> Candidate(double azScore, double restScore) =>
            az.Select(c => (c, azScore)).Concat(rest.Select(c => (c, restScore))).ToDictionary(p => p.c, p => p.Item2);
        var s = ensemble.Score([Candidate(3, 1), Candidate(1, 3), Candidate(2, 2)]);
        Assert.Equal(3 * Math.Log(1 / 3.0), s[0], 12);
        Assert.Equal(4 * Math.Log(1 / 3.0), s[1], 12);
        Assert.Equal(7 * Math.Log(2 / 3.0), s[2], 12);
    }

    [Fact]
    public void AllSelectsEveryProxyAndAggregateWithTheVariantsTheAggregatesRead()
    {
        var selection = ProxyRegistry.ParseSelection("all");
        Assert.Equal(ProxyAggregates.Names, selection.Aggregates.Select(a => a.Name).ToArray());
        var names = selection.Proxies.Select(p => p.Name).ToList();
        Assert.Equal(ProxyRegistry.Names, names.Take(ProxyRegistry.Names.Count).ToArray());
        // ensemble_full reads a λ_min variant that is not in the registered table; "all" must score it too, once.
        Assert.Contains("ntk_min_eig_bnfix_tr", names);
        Assert.DoesNotContain("ntk_min_eig_bnfix_tr", ProxyRegistry.Names);
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.All(selection.Aggregates.SelectMany(a => a.Components), c => Assert.Contains(c, names));
    }
}
