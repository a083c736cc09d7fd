using NasSharp.Benchmarks;
using Xunit;

namespace NasSharp.Tests.Benchmarks;

public class CorrelationTableTests
{
    private static ScoredArchitecture Item(string arch, double score, double acc) =>
        new(arch, new Dictionary<string, double> { ["p"] = score }, new Dictionary<string, double> { ["c10"] = acc });

    [Fact]
    public void APerfectProxyHasTauOneAndANonFiniteScoreRanksLast()
    {
        var items = new[] { Item("a", 1, 10), Item("b", 2, 20), Item("c", 3, 30), Item("d", double.NaN, 5) };
        var c = CorrelationTable.Compute(items, ["p"], ["c10"]).Single();
        Assert.Equal(1, c.NonFinite);
        // NaN ranks below 1, and d has the lowest accuracy: the order is still perfect.
        Assert.Equal(1.0, c.Targets["c10"].Kendall, 12);
        Assert.Equal(1.0, c.Targets["c10"].Spearman, 12);
    }

    [Fact]
    public void ANonFiniteScoreOnTheBestArchitectureCostsRankAgreement()
    {
        var items = new[] { Item("a", 1, 10), Item("b", 2, 20), Item("c", 3, 30), Item("d", double.PositiveInfinity, 40) };
        var c = CorrelationTable.Compute(items, ["p"], ["c10"]).Single();
        // Infinity ranks last (not first): pairs (d,·) are all discordant → τ = (3 − 3)/6 = 0.
        Assert.Equal(0.0, c.Targets["c10"].Kendall, 12);
    }

    [Fact]
    public void AMissingProxyCountsAsNonFinite()
    {
        var items = new[] { Item("a", 1, 10), new ScoredArchitecture("b", new Dictionary<string, double>(), new Dictionary<string, double> { ["c10"] = 3 }) };
        Assert.Equal(1, CorrelationTable.Compute(items, ["p"], ["c10"]).Single().NonFinite);
    }

    [Fact]
    public void BestOfUsesEveryArchitectureWhenFewerThanKAndRanksNonFiniteLast()
    {
        // 4 < k = 100, so the proxy's pick among all four is d if its score were finite; as NaN it ranks last and c wins.
        var items = new[] { Item("a", 1, 10), Item("b", 2, 20), Item("c", 3, 30), Item("d", double.NaN, 40) };
        Assert.Equal(30, CorrelationTable.Compute(items, ["p"], ["c10"]).Single().Targets["c10"].BestOf, 12);
        var reference = CorrelationTable.References(items, ["c10"])["c10"];
        Assert.Equal(25, reference.Mean, 12);
        Assert.Equal(40, reference.OracleBestOf, 12);
    }
}
