using NasSharp.Networks;
using NasSharp.Spaces;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Networks;

/// <summary>The path supernet against its reference, the benchmark's stand-alone network of the path's genotype with the supernet's weights copied in.</summary>
[Collection(TorchCollection.Name)]
public class Nb201PathSupernetTests
{
    private static readonly Nb201NetworkOptions Skeleton = new() { Channels = 4, CellsPerStage = 1 };

    [Theory]
    [InlineData("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")]
    [InlineData("|none~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|none~1|nor_conv_1x1~2|")]
    [InlineData("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")]
    [InlineData("|nor_conv_1x1~0|+|none~0|avg_pool_3x3~1|+|nor_conv_3x3~0|skip_connect~1|none~2|")]
    [InlineData("|avg_pool_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|nor_conv_3x3~1|avg_pool_3x3~2|")]
    public void APathComputesTheStandAloneNetworkOfItsGenotype(string arch)
    {
        using var scope = NewDisposeScope();
        var sharing = new Nb201WeightSharing(Skeleton);
        var genotype = Nb201Genotype.Parse(arch);
        using var supernet = sharing.Build([3, 8, 8], 5, seed: 3, device: null, ScalarType.Float64);
        // Every parameter and buffer random, so that a weight taken from the wrong operation or edge shows.
        random.manual_seed(11);
        using (no_grad())
        {
            foreach (var (name, t) in supernet.state_dict())
            {
                if (name.EndsWith("num_batches_tracked", StringComparison.Ordinal)) continue;
                t.copy_(name.EndsWith("running_var", StringComparison.Ordinal) ? rand_like(t) + 0.5 : randn_like(t) * 0.5);
            }
        }
        supernet.SetPath(sharing.PathOf(genotype));
        using var standAlone = new Nb201Network(genotype, 3, 5, sharing.Network, dtype: ScalarType.Float64);
        supernet.CopyPathInto(standAlone);
        var x = randn(6, 3, 8, 8, dtype: ScalarType.Float64);
        foreach (bool train in new[] { false, true })
        {
            supernet.train(train);
            standAlone.train(train);
            using (no_grad())
            {
                var expected = standAlone.call(x);
                var actual = supernet.call(x);
                Assert.True(expected.abs().max().item<double>() > 1e-3, "the reference output is not trivially zero");
                Assert.True((expected - actual).abs().max().item<double>() < 1e-12, $"{arch} ({(train ? "train" : "eval")} mode)");
            }
        }
    }

    [Fact]
    public void PathsAndGenotypesRoundTrip()
    {
        var sharing = new Nb201WeightSharing(Skeleton);
        Assert.Equal(Enumerable.Repeat(5, 6), sharing.ChoiceCounts);
        var rng = new Random(5);
        for (int i = 0; i < 50; i++)
        {
            var g = Nb201Genotype.FromIndex(rng.Next(Nb201Genotype.CellCount));
            Assert.Equal(g, sharing.GenotypeOf(sharing.PathOf(g)));
        }
        Assert.Throws<ArgumentException>(() => sharing.GenotypeOf([0, 1, 2, 3, 4]));
        Assert.Throws<ArgumentException>(() => sharing.GenotypeOf([0, 1, 2, 3, 4, 5]));
        Assert.NotNull(new Nb201Space().WeightSharing);
    }
}
