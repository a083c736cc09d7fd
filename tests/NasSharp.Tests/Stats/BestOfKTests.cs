using NasSharp.Stats;
using Xunit;

namespace NasSharp.Tests.Stats;

public class BestOfKTests
{
    /// <summary>The slow definition: every k-subset, its score-argmax group's mean truth (ties broken uniformly).</summary>
    private static double Enumerate(double[] score, double[] truth, int k)
    {
        double sum = 0;
        long subsets = 0;
        foreach (var subset in Subsets(score.Length, k))
        {
            double best = subset.Max(i => score[i]);
            sum += subset.Where(i => score[i] == best).Average(i => truth[i]);
            subsets++;
        }
        return sum / subsets;
    }

    private static IEnumerable<int[]> Subsets(int n, int k, int from = 0)
    {
        if (k == 0) { yield return []; yield break; }
        for (int i = from; i <= n - k; i++)
            foreach (var rest in Subsets(n, k - 1, i + 1))
                yield return [i, .. rest];
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(9)]
    public void MatchesTheAverageOverEverySubsetWithTiedScores(int k)
    {
        // Three tie groups in the score and a truth that disagrees with it in places.
        double[] score = [3, 1, 2, 3, 0.5, 2, 2, 7, 1];
        double[] truth = [90, 70, 88, 60, 93, 85, 80, 50, 75];
        Assert.Equal(Enumerate(score, truth, k), BestOfK.Expected(score, truth, k), 10);
    }

    [Fact]
    public void OneSampleIsTheMeanAndAllSamplesTheTopGroup()
    {
        double[] score = [1, 5, 5, 2];
        double[] truth = [10, 20, 40, 30];
        Assert.Equal(25, BestOfK.Expected(score, truth, 1), 12);
        Assert.Equal(30, BestOfK.Expected(score, truth, 4), 12); // mean of the tied top pair
        Assert.Equal(40, BestOfK.Expected(truth, truth, 4), 12);  // the oracle finds the best
    }

    [Fact]
    public void LargeSetsDoNotOverflow()
    {
        var rng = new Random(3);
        var truth = Enumerable.Range(0, 1000).Select(_ => rng.NextDouble()).ToArray();
        double oracle = BestOfK.Expected(truth, truth, 100);
        // The best of 100 uniforms is Beta(100, 1): mean 100/101; the finite sample agrees to sampling error.
        Assert.InRange(oracle, 100.0 / 101 - 0.01, 1);
        Assert.Equal(truth.Average(), BestOfK.Expected(new double[1000], truth, 100), 12); // a constant score picks at random
    }

    [Fact]
    public void RefusesBadInput()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BestOfK.Expected([1, 2], [1, 2], 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => BestOfK.Expected([1, 2], [1, 2], 0));
        Assert.Throws<ArgumentException>(() => BestOfK.Expected([1, double.NaN], [1, 2], 1));
        Assert.Throws<ArgumentException>(() => BestOfK.Expected([1, 2, 3], [1, 2], 1));
    }
}
