using NasSharp.Stats;
using Xunit;

namespace NasSharp.Tests.Stats;

public class RankCorrelationTests
{
    [Fact]
    public void PerfectAndReversedOrders()
    {
        double[] x = [1, 2, 3, 4, 5];
        Assert.Equal(1.0, RankCorrelation.KendallTau(x, [10, 20, 30, 40, 50]), 12);
        Assert.Equal(-1.0, RankCorrelation.KendallTau(x, [5, 4, 3, 2, 1]), 12);
        Assert.Equal(1.0, RankCorrelation.Spearman(x, [1, 4, 9, 16, 25]), 12);
        Assert.Equal(-1.0, RankCorrelation.Spearman(x, [9, 7, 5, 3, 1]), 12);
    }

    [Fact]
    public void KendallWithoutTiesCountsConcordantPairs()
    {
        // Pairs of (1,3,2,5,4) against (1..5): 10 pairs, 2 discordant → τ = (8 − 2)/10.
        Assert.Equal(0.6, RankCorrelation.KendallTau([1, 2, 3, 4, 5], [1, 3, 2, 5, 4]), 12);
        // Spearman: d² = 0+1+1+1+1 = 4 → ρ = 1 − 6·4/(5·24) = 0.8.
        Assert.Equal(0.8, RankCorrelation.Spearman([1, 2, 3, 4, 5], [1, 3, 2, 5, 4]), 12);
    }

    [Fact]
    public void TiesUseTauBAndAverageRanks()
    {
        // τ-b by hand: C=4, D=0, n0=6, one tie in each variable → 4/√(5·5) = 0.8.
        Assert.Equal(0.8, RankCorrelation.KendallTau([1, 2, 2, 3], [1, 2, 3, 3]), 12);
        Assert.Equal([1, 2.5, 2.5, 4], RankCorrelation.AverageRanks([10, 20, 20, 30]));
        // By hand: Pearson of ranks (1,2.5,2.5,4) and (1,2,3.5,3.5): Σdxdy = 3.75, Σdx² = Σdy² = 4.5 → 5/6.
        Assert.Equal(5.0 / 6, RankCorrelation.Spearman([1, 2, 2, 3], [1, 2, 3, 3]), 12);
    }

    [Fact]
    public void AConstantVariableHasNoCorrelation()
    {
        Assert.True(double.IsNaN(RankCorrelation.KendallTau([1, 1, 1], [1, 2, 3])));
        Assert.True(double.IsNaN(RankCorrelation.Spearman([1, 2, 3], [4, 4, 4])));
    }

    [Fact]
    public void NonFiniteValuesAreRefused() =>
        Assert.Throws<ArgumentException>(() => RankCorrelation.KendallTau([1, double.NaN], [1, 2]));

    [Fact]
    public void TopOverlapCountsSharedTopItems()
    {
        double[] truth = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1];
        Assert.Equal(1.0, RankCorrelation.TopOverlap(truth, truth, 0.2));
        Assert.Equal(0.5, RankCorrelation.TopOverlap([10, 0, 9, 0, 0, 0, 0, 0, 0, 0], truth, 0.2)); // top-2 {0,2} vs {0,1}
        Assert.Equal(0.0, RankCorrelation.TopOverlap([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], truth, 0.1));
    }
}
