using System.Numerics;
using NasSharp.Networks;
using NasSharp.Spaces;
using Xunit;

namespace NasSharp.Tests.Spaces;

[Collection(TorchCollection.Name)]
public class MobileNetSpaceTests
{
    private static MobileNetSpace Space(double multiplier, params int[] layers) =>
        new(new MobileNetNetworkOptions { WidthMultiplier = multiplier, LayersPerStage = [.. layers] });

    [Fact]
    public void CountIsTheNumberOfGenotypesEnumeratedAndTheClosedForm()
    {
        // One layer per stage at width 1: only layer 1 (stem 16 → 16, stride 1) takes skip; the other five change
        // channels or stride: 7 · 6⁵ = 54,432.
        var small = Space(1, 1, 1, 1, 1, 1, 1);
        var all = small.Enumerate().ToList();
        Assert.Equal(7 * 7776, all.Count);
        Assert.Equal(all.Count, all.Select(g => g.Canonical).Distinct().Count());
        Assert.Equal(new BigInteger(all.Count), small.Count);
        Assert.All(all.Take(500).Concat(all.TakeLast(500)), g => Assert.Equal(g, small.Parse(g.Canonical)));
        Assert.Equal(Enumerable.Repeat(MobileNetOperation.E3K3, 6).ToArray(), all[0].Operations.ToArray());
        Assert.Equal([MobileNetOperation.Skip, .. Enumerable.Repeat(MobileNetOperation.E6K7, 5)], all[^1].Operations.ToArray());

        // The default skeleton, 1,2,2,2,2,1: skip fits at layers 1, 3, 5, 7, 9 (a stage's later layers and the first
        // stage's one), so 7⁵ · 6⁵.
        var space = new MobileNetSpace();
        Assert.Equal(BigInteger.Pow(7, 5) * BigInteger.Pow(6, 5), space.Count);
        Assert.Equal(130_691_232, (long)space.Count);
        Assert.Contains("130,691,232 genotypes", space.Describe());
        Assert.Contains("skip at layers 1,3,5,7,9 only", space.Describe());
        Assert.Throws<InvalidOperationException>(() => space.Enumerate().First());
    }

    [Fact]
    public void SamplesFitTheSpaceAndFollowTheSeed()
    {
        var space = new MobileNetSpace();
        var a = Enumerable.Range(0, 200).Select(_ => space.Sample(new Random(5))).ToList();
        Assert.All(a, g => Assert.Equal(a[0], g));
        var rng = new Random(6);
        var samples = Enumerable.Range(0, 2000).Select(_ => space.Sample(rng)).ToList();
        Assert.All(samples, g => Assert.Equal(g, space.Parse(g.Canonical)));
        // Uniform over a layer's allowed candidates: at a skip layer each of 7 has probability 1/7 (2000/7 ≈ 286, sd ≈ 15.6);
        // at a stage's first layer skip never appears.
        var counts = samples.GroupBy(g => g.Operations[2]).ToDictionary(x => x.Key, x => x.Count());
        Assert.Equal(7, counts.Count);
        Assert.All(counts.Values, c => Assert.InRange(c, 286 - 80, 286 + 80));
        Assert.DoesNotContain(samples, g => g.Operations[1] == MobileNetOperation.Skip);
    }

    [Fact]
    public void MutationChangesExactlyOneLayerWithinItsCandidates()
    {
        var space = new MobileNetSpace();
        var rng = new Random(3);
        var g = space.Sample(rng);
        var seen = new HashSet<string>();
        for (int i = 0; i < 3000; i++)
        {
            var m = space.Mutate(g, rng);
            Assert.Equal(1, g.Operations.Zip(m.Operations).Count(p => p.First != p.Second));
            Assert.Equal(m, space.Parse(m.Canonical));
            seen.Add(m.Canonical);
        }
        // Every neighbour is reached: 5 layers with 6 others, 5 with 5 others.
        Assert.Equal(5 * 6 + 5 * 5, seen.Count);
    }

    [Theory]
    [InlineData("e3k3-e3k3", "it has 2 layers, the skeleton has 10 (--layers 1,2,2,2,2,1)")]
    [InlineData("e3k3-skip-e3k3-e3k3-e3k3-e3k3-e3k3-e3k3-e3k3-e3k3", "layer 2 is skip, but that layer maps 16 to 24 channels, so the identity does not fit there; skip is allowed at layers 1, 3, 5, 7, 9")]
    [InlineData("e3k3-e3k3-e3k3-skip-e3k3-e3k3-e3k3-e3k3-e3k3-e3k3", "layer 4 is skip, but that layer has stride 2")]
    public void AGenotypeThatDoesNotFitTheSkeletonIsRefusedInOneLine(string text, string why)
    {
        var e = Assert.Throws<GenotypeFormatException>(() => new MobileNetSpace().Parse(text));
        Assert.Contains(why, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        // The syntax alone is fine: commands given one --arch parse it, and the builder says why it does not fit.
        Assert.Equal(text, MobileNetGenotype.Parse(text).Canonical);
        var build = Assert.Throws<ArgumentException>(() => new MobileNetSpace().BuildNetwork(MobileNetGenotype.Parse(text), [3, 8, 8], 10, new NetworkOptions(), seed: 0));
        Assert.Contains(why, build.Message);
    }

    [Theory]
    [InlineData("", "it is empty")]
    [InlineData("e3k3--e6k5", "layer 2 is empty")]
    [InlineData("e3k3-e4k3", "layer 2 is 'e4k3', not an operation (known: e3k3, e3k5, e3k7, e6k3, e6k5, e6k7, skip)")]
    [InlineData("E3K3", "layer 1 is 'E3K3', not an operation")]
    public void MalformedTextIsRefusedWithTheReason(string text, string why)
    {
        var e = Assert.Throws<GenotypeFormatException>(() => MobileNetGenotype.Parse(text));
        Assert.Contains(why, e.Message);
        Assert.Contains("e.g. " + MobileNetGenotype.Example, e.Message);
        Assert.Equal(MobileNetGenotype.Example, new MobileNetSpace().Parse(MobileNetGenotype.Example).Canonical);
    }

    [Fact]
    public void TheRegistryRecreatesTheSpaceFromItsSettings()
    {
        var space = SpaceRegistry.Default.Create("mobilenet", new Settings([new("width-multiplier", "0.5"), new("layers", "1,1,2,1,3,1")]));
        var again = SpaceRegistry.Default.Recreate("mobilenet", space.Settings);
        Assert.Equal(space.Settings, again.Settings);
        Assert.Equal("0.5", space.Settings["width-multiplier"]);
        Assert.Equal("1,1,2,1,3,1", space.Settings["layers"]);
        Assert.Equal(space.Count, again.Count);
        Assert.Equal(9, ((MobileNetSpace)again).Network.Layers().Count);
        Assert.Equal(new MobileNetSpace().Settings, SpaceRegistry.Default.Create("mobilenet").Settings);

        Assert.Contains("--layers 1,2,2: the skeleton has 6 stages, so it needs 6 layer counts, got 3",
            Assert.Throws<SettingException>(() => SpaceRegistry.Default.Create("mobilenet", new Settings([new("layers", "1,2,2")]))).Message);
        Assert.Contains("--layers 1,2,x,2,2,1: expected 6 comma-separated whole numbers",
            Assert.Throws<SettingException>(() => SpaceRegistry.Default.Create("mobilenet", new Settings([new("layers", "1,2,x,2,2,1")]))).Message);
        Assert.Contains("each stage has 1..8 layers, got 1,2,0,2,2,1",
            Assert.Throws<SettingException>(() => SpaceRegistry.Default.Create("mobilenet", new Settings([new("layers", "1,2,0,2,2,1")]))).Message);
        var entangled = SpaceRegistry.Default.Create("mobilenet", new Settings([new("weight-sharing", "entangled")]));
        Assert.Equal(MobileNetSharing.Entangled, ((MobileNetSpace)SpaceRegistry.Default.Recreate("mobilenet", entangled.Settings)).Sharing);
        Assert.False(new MobileNetSpace().Settings.ContainsKey("weight-sharing"));
        Assert.IsType<EntangledChoiceLayer>(((MobileNetSupernet)entangled.WeightSharing!.BuildSupernet([3, 8, 8], 10, seed: 1)).Choices[0]);
        Assert.Contains("--weight-sharing shared: expected independent or entangled",
            Assert.Throws<SettingException>(() => SpaceRegistry.Default.Create("mobilenet", new Settings([new("weight-sharing", "shared")]))).Message);
        Assert.Contains("--width-multiplier 0: must be above 0",
            Assert.Throws<SettingException>(() => SpaceRegistry.Default.Create("mobilenet", new Settings([new("width-multiplier", "0")]))).Message);
    }

    [Fact]
    public void ChannelsAreRoundedAsMobileNetV2Rounds()
    {
        // _make_divisible(v, 8): nearest multiple of 8, at least 8, not more than 10% below v.
        Assert.Equal(8, MobileNetNetworkOptions.Round(4));
        Assert.Equal(8, MobileNetNetworkOptions.Round(6));
        Assert.Equal(16, MobileNetNetworkOptions.Round(12));
        Assert.Equal(24, MobileNetNetworkOptions.Round(19.2));   // 16 would be 17% below
        Assert.Equal(48, MobileNetNetworkOptions.Round(48));
        var half = new MobileNetNetworkOptions { WidthMultiplier = 0.5 };
        Assert.Equal([8, 16, 16, 32, 48, 80], Enumerable.Range(0, 6).Select(half.StageChannels));
        Assert.Equal(320, half.HeadChannels);
    }

    [Fact]
    public void CostMatchesAHandCount()
    {
        // Width 0.25, one layer per stage: stem 8; stages 8, 8, 8, 16, 24, 40 (strides 1, 1, 2, 2, 1, 2); head 160.
        // On a 3×32×32 image, counting every trainable parameter (BN: γ and β) and each convolution's and the linear
        // layer's multiply-adds (output elements × inputs per output):
        //   stem 3×3, 3→8 at 32²:            params 216 + 16 = 232;              MACs 1024·27·8 = 221,184
        //   e3k3 8→8, s1 at 32² (hidden 24):  192+48 + 216+48 + 192+16 = 712;     1024·8·24 + 1024·24·9 + 1024·24·8 = 614,400
        //   skip 8→8:                          0;                                   0
        //   e6k5 8→8, s2, 32²→16² (hidden 48): 384+96 + 1200+96 + 384+16 = 2,176; 1024·8·48 + 256·48·25 + 256·48·8 = 798,720
        //   e3k7 8→16, s2, 16²→8² (hidden 24): 192+48 + 1176+48 + 384+32 = 1,880; 256·8·24 + 64·24·49 + 64·24·16 = 148,992
        //   e6k3 16→24, s1 at 8² (hidden 96):  1536+192 + 864+192 + 2304+48 = 5,136; 64·16·96 + 64·96·9 + 64·96·24 = 301,056
        //   e3k5 24→40, s2, 8²→4² (hidden 72): 1728+144 + 1800+144 + 2880+80 = 6,776; 64·24·72 + 16·72·25 + 16·72·40 = 185,472
        //   head 1×1 40→160 at 4²:             6400 + 320 = 6,720;                  16·40·160 = 102,400
        //   linear 160→10:                     1600 + 10 = 1,610;                   1,610
        var space = Space(0.25, 1, 1, 1, 1, 1, 1);
        var g = space.Parse("e3k3-skip-e6k5-e3k7-e6k3-e3k5");
        var cost = space.Cost(g, [3, 32, 32], 10);
        Assert.Equal(232 + 712 + 2_176 + 1_880 + 5_136 + 6_776 + 6_720 + 1_610, cost.Parameters);
        Assert.Equal(25_242, cost.Parameters);
        Assert.Equal(221_184 + 614_400 + 798_720 + 148_992 + 301_056 + 185_472 + 102_400 + 1_610, cost.MultiplyAdds);
        Assert.Equal(2_373_834, cost.MultiplyAdds);
    }
}
