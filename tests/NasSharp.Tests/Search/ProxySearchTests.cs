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

    [Fact]
    public void GivenArchitecturesAreTheCandidatesAndScoreAsTheySampled()
    {
        // Reference: the sampled search's scores of the same genotypes (a genotype's network and batch do not depend on how
        // it became a candidate). The file lists two of them in reverse order, one indented, with a comment and a blank line.
        var space = SpaceRegistry.Default.Create("nb201", new Settings([new("cells", "1"), new("channels", "4")]));
        var data = new ExperimentData(new DataSpec { Dataset = "cifar10", TrainSize = "2000" }, DataDirectory.Resolve(null).Path, seed: 1);
        var sampled = StrategyRegistry.Default.Create("proxy", new Settings([new("proxy", "naswot"), new("candidates", "4"), new("batch", "8")]))
            .Run(new SearchContext(space, data, Seed: 3)).Ranked.ToDictionary(c => c.Arch, c => c.Score);
        var chosen = sampled.Keys.Order(StringComparer.Ordinal).Take(2).ToArray();
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(file, ["# a shortlist", $"  {chosen[1]}", "", chosen[0]]);
            var given = StrategyRegistry.Default.Create("proxy", new Settings([new("proxy", "naswot"), new("archs", file), new("batch", "8")]))
                .Run(new SearchContext(space, data, Seed: 3));
            Assert.Equal(chosen.Order(StringComparer.Ordinal), given.Ranked.Select(c => c.Arch).Order(StringComparer.Ordinal));
            foreach (var c in given.Ranked) Assert.Equal(sampled[c.Arch], c.Score);
            Assert.Equal(given.Ranked[0].Arch, given.Arch);
        }
        finally { File.Delete(file); }
    }

    [Theory]
    [InlineData("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|none~1|none~2|\n|banana~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "--archs: architecture 2: Malformed nb201 architecture")]
    [InlineData("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|none~1|none~2|\n|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|none~1|none~2|",
        "--archs: architecture 2 is architecture 1 again")]
    [InlineData("# nothing but a comment", "--archs: the list has no architecture.")]
    public void AMalformedOrRepeatedOrEmptyListIsRefusedNamingTheArchitecture(string lines, string expected)
    {
        var space = SpaceRegistry.Default.Create("nb201", new Settings([new("cells", "1"), new("channels", "4")]));
        var data = new ExperimentData(new DataSpec { Dataset = "cifar10", TrainSize = "2000" }, DataDirectory.Resolve(null).Path, seed: 1);
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, lines);
            var e = Assert.Throws<SettingException>(() => StrategyRegistry.Default.Create("proxy", new Settings([new("archs", file)])).Validate(space, data));
            Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void ArchsWithCandidatesOrAMissingFileIsRefused()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"nassharp-no-such-{Guid.NewGuid():N}.txt");
        var both = Assert.Throws<SettingException>(() => StrategyRegistry.Default.Create("proxy", new Settings([new("archs", missing), new("candidates", "5")])));
        Assert.Equal("--archs and --candidates: give one (the file's architectures, or K sampled ones).", both.Message);
        var none = Assert.Throws<SettingException>(() => StrategyRegistry.Default.Create("proxy", new Settings([new("archs", missing)])));
        Assert.StartsWith($"--archs {missing}: cannot read it: ", none.Message, StringComparison.Ordinal);
    }
}
