using CsCheck;
using NasSharp.Search.WeightSharing;
using Xunit;

namespace NasSharp.Tests.Search.WeightSharing;

/// <summary>FairNAS's strict fairness, checked by counting: every candidate of every choice point once per step.</summary>
public class PathSamplingTests
{
    private static readonly Gen<(int[] Counts, int Seed)> Cases =
        from counts in Gen.Int[1, 7].Array[1, 9]
        from seed in Gen.Int
        select (counts, seed);

    [Fact]
    public void FairPathsCoverEveryCandidateOnceWhenCountsAreEqual() =>
        Gen.Select(Gen.Int[1, 8], Gen.Int[1, 10], Gen.Int).Sample(t =>
        {
            var (k, points, seed) = t;
            var rng = new Random(seed);
            for (int step = 0; step < 5; step++)
            {
                var paths = PathSampling.Fair([.. Enumerable.Repeat(k, points)], rng);
                Assert.Equal(k, paths.Length);
                for (int p = 0; p < points; p++)
                    Assert.Equal(Enumerable.Range(0, k), paths.Select(path => path[p]).Order());
            }
        });

    [Fact]
    public void FairPathsBalanceCandidatesOfSmallerChoicePoints() =>
        Cases.Sample(x =>
        {
            var paths = PathSampling.Fair(x.Counts, new Random(x.Seed));
            int m = x.Counts.Max();
            Assert.Equal(m, paths.Length);
            for (int p = 0; p < x.Counts.Length; p++)
            {
                var uses = Enumerable.Range(0, x.Counts[p]).Select(c => paths.Count(path => path[p] == c)).ToList();
                Assert.Equal(m, uses.Sum());
                Assert.True(uses.All(u => u == m / x.Counts[p] || u == m / x.Counts[p] + 1), $"counts {string.Join(",", x.Counts)}, point {p}: uses {string.Join(",", uses)}");
            }
        });

    [Fact]
    public void TheSameSeedDrawsTheSamePaths() =>
        Cases.Sample(x =>
        {
            var a = new Random(x.Seed);
            var b = new Random(x.Seed);
            for (int step = 0; step < 3; step++)
            {
                Assert.Equal(PathSampling.Fair(x.Counts, a), PathSampling.Fair(x.Counts, b));
                Assert.Equal(PathSampling.Uniform(x.Counts, a), PathSampling.Uniform(x.Counts, b));
            }
        });

    [Fact]
    public void UniformPathsStayInRangeAndReachEveryCandidate()
    {
        int[] counts = [5, 5, 3, 1];
        var rng = new Random(2);
        var seen = counts.Select(k => new HashSet<int>()).ToArray();
        for (int i = 0; i < 200; i++)
        {
            var path = PathSampling.Uniform(counts, rng);
            for (int p = 0; p < counts.Length; p++)
            {
                Assert.InRange(path[p], 0, counts[p] - 1);
                seen[p].Add(path[p]);
            }
        }
        Assert.Equal(counts, seen.Select(s => s.Count));
        Assert.Throws<ArgumentException>(() => PathSampling.Fair([3, 0], rng));
    }
}
