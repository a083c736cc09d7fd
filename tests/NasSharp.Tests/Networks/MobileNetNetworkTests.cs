using NasSharp.Networks;
using NasSharp.Spaces;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Networks;

[Collection(TorchCollection.Name)]
public class MobileNetNetworkTests
{
    private static readonly MobileNetSpace Small = new(new MobileNetNetworkOptions { WidthMultiplier = 0.5, LayersPerStage = [2, 1, 2, 1, 2, 1] });
    private static readonly MobileNetSpace SmallEntangled = new(Small.Network, MobileNetSharing.Entangled);

    private static MobileNetSpace SmallWith(string sharing) => sharing == "entangled" ? SmallEntangled : Small;

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Theory]
    [InlineData(1, 3, 32, 32, 10)]
    [InlineData(2, 3, 16, 24, 7)]
    [InlineData(3, 1, 28, 28, 10)]
    public void ForwardGivesOneRowOfLogitsPerImage(int seed, int channels, int height, int width, int classes)
    {
        using var scope = NewDisposeScope();
        var g = new MobileNetSpace().Sample(new Random(seed));
        using var net = new MobileNetSpace().BuildNetwork(g, [channels, height, width], classes, new NetworkOptions(), seed);
        var logits = net.call(randn(3, channels, height, width));
        Assert.Equal(new long[] { 3, classes }, logits.shape);
        Assert.True(isfinite(logits).all().item<bool>());
        Assert.Equal(10 + 2, ((IStagedNetwork)net).Stages.Count);
    }

    [Fact]
    public void TheSameSeedGivesTheSameWeights()
    {
        using var scope = NewDisposeScope();
        var space = new MobileNetSpace();
        var g = space.Parse(MobileNetGenotype.Example);
        using var a = space.BuildNetwork(g, [3, 32, 32], 10, new NetworkOptions(), seed: 11);
        using var b = space.BuildNetwork(g, [3, 32, 32], 10, new NetworkOptions(), seed: 11);
        using var c = space.BuildNetwork(g, [3, 32, 32], 10, new NetworkOptions(), seed: 12);
        var pa = a.parameters().ToList();
        var pb = b.parameters().ToList();
        var pc = c.parameters().ToList();
        Assert.Equal(pa.Count, pb.Count);
        for (int i = 0; i < pa.Count; i++) Assert.True(Same(pa[i], pb[i]), $"parameter {i} differs for the same seed");
        Assert.Contains(Enumerable.Range(0, pa.Count), i => !Same(pa[i], pc[i]));
    }

    [Fact]
    public void ABlockAddsItsInputOnlyWhereShapesAllow()
    {
        using var scope = NewDisposeScope();
        // With the projection's BN scaled to zero, the block's branch is 0: a residual block returns its input exactly.
        var block = new InvertedResidual(8, 8, 1, 3, 5);
        var strided = new InvertedResidual(8, 8, 2, 3, 5);
        var widened = new InvertedResidual(8, 16, 1, 3, 5);
        Assert.True(block.Residual);
        Assert.False(strided.Residual);
        Assert.False(widened.Residual);
        foreach (var m in new[] { block, strided, widened })
        {
            var bn = m.named_modules().Select(x => x.module).OfType<BatchNorm2d>().Last();
            using (no_grad()) { bn.weight!.zero_(); bn.bias!.zero_(); }
        }
        var x = randn(2, 8, 6, 6);
        Assert.True(Same(block.call(x), x));
        Assert.Equal(0.0, strided.call(x).abs().max().item<float>());
        Assert.Equal(new long[] { 2, 8, 3, 3 }, strided.call(x).shape);
        Assert.Equal(0.0, widened.call(x).abs().max().item<float>());
    }

    [Fact]
    public void ThePathsOfTheWeightSharingFormAreTheSpacesGenotypes()
    {
        var sharing = Small.WeightSharing;
        var layers = Small.Network.Layers();
        Assert.Equal(layers.Select(l => l.SkipAllowed ? 7 : 6), sharing.ChoiceCounts);
        var rng = new Random(4);
        for (int i = 0; i < 200; i++)
        {
            var g = Small.Sample(rng);
            var path = sharing.PathOf(g);
            Assert.Equal(g, sharing.GenotypeOf(path));
            Assert.All(path.Zip(sharing.ChoiceCounts), p => Assert.InRange(p.First, 0, p.Second - 1));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => sharing.GenotypeOf([.. sharing.ChoiceCounts.Select(c => c - 1 + (c == 6 ? 1 : 0))]));
        Assert.Throws<ArgumentException>(() => sharing.PathOf(new MobileNetSpace().Sample(rng)));
    }

    [Theory]
    [InlineData("independent")]
    [InlineData("entangled")]
    public void ASupernetPathComputesItsGenotypesNetworkWithInheritedWeights(string weightSharing)
    {
        // Reference: the stand-alone network of the path's genotype, built by the space, given the path's weights by copy.
        using var scope = NewDisposeScope();
        var space = SmallWith(weightSharing);
        var sharing = space.WeightSharing;
        using var supernet = (MobileNetSupernet)sharing.BuildSupernet([3, 16, 16], 10, seed: 3);
        supernet.to(ScalarType.Float64);
        var x = randn(4, 3, 16, 16, dtype: ScalarType.Float64);
        var rng = new Random(9);
        var allSkips = Small.Network.Layers().Select(l => l.SkipAllowed ? MobileNetOperation.Skip : MobileNetOperation.E6K7).ToArray();
        var noSkips = Small.Network.Layers().Select(l => MobileNetOperation.E3K3).ToArray();
        var genotypes = new[] { new MobileNetGenotype(allSkips), new MobileNetGenotype(noSkips) }.Concat(Enumerable.Range(0, 4).Select(_ => Small.Sample(rng))).ToList();
        Assert.Contains(genotypes, g => g.Operations.Count(o => o == MobileNetOperation.Skip) is > 0 and < 4);
        foreach (var g in genotypes)
        {
            var path = sharing.PathOf(g);
            supernet.SetPath(path);
            Assert.Equal(path, supernet.Path);
            using var net = (MobileNetNetwork)Small.BuildNetwork(g, [3, 16, 16], 10, new NetworkOptions { DType = ScalarType.Float64 }, seed: 100);
            Assert.True(supernet.call(x).sub(net.call(x)).abs().max().item<double>() > 1e-3, "the stand-alone network before inheriting should differ");
            supernet.CopyPathInto(net, path);
            foreach (bool training in new[] { true, false })
            {
                supernet.train(training);
                net.train(training);
                using var _ = no_grad();
                double gap = supernet.call(x).sub(net.call(x)).abs().max().item<double>();
                Assert.True(gap <= 1e-12, $"{g} ({(training ? "train" : "eval")} mode): supernet and inherited network differ by {gap:G3}");
            }
        }
    }

    [Fact]
    public void OnlyThePathsCandidatesRun()
    {
        using var scope = NewDisposeScope();
        // 32×32 and a batch of 4: the last stage's batch norm normalises 4·2·2 values per channel (over only 2 it would
        // output ±1 whatever its input, and pass no gradient back).
        using var supernet = (MobileNetSupernet)Small.WeightSharing.BuildSupernet([3, 32, 32], 10, seed: 5);
        var path = Small.WeightSharing.PathOf(Small.Sample(new Random(2)));
        supernet.SetPath(path);
        // A random weighting of the logits: a plain sum would send no gradient through a batch norm's batch statistics.
        supernet.call(randn(4, 3, 32, 32)).mul(randn(4, 10)).sum().backward();
        for (int i = 0; i < supernet.Choices.Count; i++)
            for (int c = 0; c < supernet.Choices[i].Count; c++)
                foreach (var p in ((ChoiceLayer)supernet.Choices[i]).Candidates[c].parameters())
                    Assert.Equal(c == path[i], p.grad is not null && p.grad.abs().sum().item<float>() > 0);
        Assert.Throws<ArgumentException>(() => supernet.SetPath([0, 0]));
    }

    [Fact]
    public void AnEntangledBlockTrainsOnlyItsSliceOfTheLayersWeights()
    {
        // Reference: the slice rule itself. e3k3 at a layer must move exactly the first 3·C_in hidden channels of the 1×1
        // convolutions and the centred 3×3 window of the 7×7 depthwise kernel; e6k7 every weight of the layer.
        using var scope = NewDisposeScope();
        using var supernet = (MobileNetSupernet)SmallEntangled.WeightSharing.BuildSupernet([3, 32, 32], 10, seed: 5);
        var layers = SmallEntangled.Network.Layers();
        var path = layers.Select(l => l.Index % 2 == 0 ? (int)MobileNetOperation.E3K3 : (int)MobileNetOperation.E6K7).ToArray();
        supernet.SetPath(path);
        supernet.call(randn(4, 3, 32, 32)).mul(randn(4, 10)).sum().backward();
        foreach (var choice in supernet.Choices)
        {
            bool small = choice.Layer.Index % 2 == 0;
            long c = choice.Layer.InChannels, used = small ? 3 * c : 6 * c;
            var grads = choice.named_parameters().Where(p => p.name.EndsWith("conv.weight")).ToDictionary(p => p.name, p => p.parameter.grad!.abs());
            var expand = grads["expand.conv.weight"];
            Assert.True(expand.narrow(0, 0, used).sum(dim: [1, 2, 3]).gt(0).all().item<bool>(), $"layer {choice.Layer.Index}: a used expansion channel got no gradient");
            if (small) Assert.Equal(0.0, expand.narrow(0, used, 6 * c - used).sum().item<float>());
            var depth = grads["depthwise.conv.weight"];
            var window = small ? depth.narrow(0, 0, used).narrow(2, 2, 3).narrow(3, 2, 3) : depth;
            Assert.True(window.sum(dim: [1, 2, 3]).gt(0).all().item<bool>(), $"layer {choice.Layer.Index}: a used depthwise filter got no gradient");
            var outside = depth.clone();
            outside.narrow(0, 0, used).narrow(2, small ? 2 : 0, small ? 3 : 7).narrow(3, small ? 2 : 0, small ? 3 : 7).zero_();
            Assert.Equal(0.0, outside.sum().item<float>());
            var project = grads["project.conv.weight"];
            Assert.True(project.narrow(1, 0, used).sum().gt(0).item<bool>());
            if (small) Assert.Equal(0.0, project.narrow(1, used, 6 * c - used).sum().item<float>());
        }
    }
}
