using NasSharp.Spaces;
using Xunit;

namespace NasSharp.Tests.Spaces;

public class MlpSpaceTests
{
    [Fact]
    public void CountIsActivationsToTheDepthTimesSkipSubsets()
    {
        // |A|^L · 2^{L(L−1)/2}: 8^3 · 2^3.
        Assert.Equal(4096, (int)new MlpSpace(depth: 3).Count);
        Assert.Equal(8 * 8 * 8, (int)new MlpSpace(depth: 3, allowSkips: false).Count);
    }

    [Fact]
    public void EnumerationListsEveryGenotypeExactlyOnceAndParsesBack()
    {
        var space = new MlpSpace(depth: 3, width: 4, choices: [Activation.Relu, Activation.Tanh]);
        var all = space.Enumerate().ToList();
        Assert.Equal((int)space.Count, all.Count); // 2^3 · 2^3 = 64
        Assert.Equal(64, all.Count);
        Assert.Equal(all.Count, all.Select(g => g.Canonical).Distinct().Count());
        Assert.All(all, g => Assert.Equal(g, space.Parse(g.Canonical)));
    }

    [Fact]
    public void SamplingIsDeterministicForASeedAndStaysInTheSpace()
    {
        var space = new MlpSpace(depth: 5, width: 32);
        var a = Enumerable.Range(0, 50).Select(_ => 0).Aggregate((new Random(7), new List<string>()), (s, _) => { s.Item2.Add(space.Sample(s.Item1).Canonical); return s; }).Item2;
        var b = Enumerable.Range(0, 50).Select(_ => 0).Aggregate((new Random(7), new List<string>()), (s, _) => { s.Item2.Add(space.Sample(s.Item1).Canonical); return s; }).Item2;
        var c = Enumerable.Range(0, 50).Select(_ => 0).Aggregate((new Random(8), new List<string>()), (s, _) => { s.Item2.Add(space.Sample(s.Item1).Canonical); return s; }).Item2;
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.All(a, t => space.Parse(t));
        Assert.True(a.Distinct().Count() > 40, "a 5-layer space of 8^5·2^10 genotypes should rarely repeat");
    }

    [Fact]
    public void MutationChangesExactlyOneDecision()
    {
        var space = new MlpSpace(depth: 4, width: 8);
        var rng = new Random(3);
        for (int i = 0; i < 200; i++)
        {
            var g = space.Sample(rng);
            var m = space.Mutate(g, rng);
            int changes = 0;
            for (int l = 0; l < g.Depth; l++)
            {
                if (g.Layers[l].Activation != m.Layers[l].Activation) changes++;
                changes += g.Layers[l].Skips.Except(m.Layers[l].Skips).Count() + m.Layers[l].Skips.Except(g.Layers[l].Skips).Count();
            }
            Assert.Equal(1, changes);
        }
    }

    [Fact]
    public void ParseRejectsGenotypesOutsideTheSpace()
    {
        var space = new MlpSpace(depth: 2, width: 16, choices: [Activation.Relu]);
        Assert.Contains("depth 2", Assert.Throws<GenotypeFormatException>(() => space.Parse("w16/relu")).Message);
        Assert.Contains("width 16", Assert.Throws<GenotypeFormatException>(() => space.Parse("w8/relu-relu")).Message);
        Assert.Contains("'tanh'", Assert.Throws<GenotypeFormatException>(() => space.Parse("w16/relu-tanh")).Message);
        Assert.Contains("skips off", Assert.Throws<GenotypeFormatException>(() => new MlpSpace(2, 16, allowSkips: false).Parse("w16/relu-relu+1")).Message);
    }

    [Fact]
    public void EnumeratingAHugeSpaceIsRefused() =>
        Assert.Throws<InvalidOperationException>(() => new MlpSpace(depth: 10).Enumerate().First());

    [Fact]
    public void DerivedSeedsAreStableAcrossProcessesAndDistinct()
    {
        // Golden value computed independently (a Python transcription of FNV-1a + SplitMix64): the
        // derivation must not depend on the process (no string.GetHashCode) or change silently.
        Assert.Equal(Seeds.Derive(1, "a", 2), Seeds.Derive(1, "a", 2));
        Assert.NotEqual(Seeds.Derive(1, "ab", "c"), Seeds.Derive(1, "a", "bc"));
        Assert.NotEqual(Seeds.Derive(1, "a"), Seeds.Derive(2, "a"));
        Assert.Equal(6663428750310148529L, Seeds.Derive(42, "ntk-init", "w8/relu", 0));
    }
}
