using System.Text.RegularExpressions;
using NasSharp.Networks;
using NasSharp.Spaces;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Networks;

[Collection(TorchCollection.Name)]
public class DartsNetworkTests
{
    private const string DartsV2Repr =
        "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), " +
        "('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), " +
        "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), " +
        "('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])";

    // Every parameterised operation in both cells, skip_connect on a reduction cell's input (a factorized reduction), no pooling.
    private const string NoPooling =
        "normal=sep_conv_3x3~0,dil_conv_5x5~1|skip_connect~0,sep_conv_5x5~2|dil_conv_3x3~1,skip_connect~3|sep_conv_3x3~2,dil_conv_3x3~4;" +
        "reduce=skip_connect~0,sep_conv_5x5~1|dil_conv_3x3~0,skip_connect~2|sep_conv_3x3~1,dil_conv_5x5~3|skip_connect~1,sep_conv_3x3~4";

    private static readonly int[] Small = [3, 8, 8];

    private static long ParameterCount(nn.Module module) => module.parameters().Sum(p => p.numel());

    private static DartsSpace Space(int channels, int layers) => new(new DartsNetworkOptions { Channels = channels, Layers = layers });

    [Theory]
    [InlineData(1, 4, 3, 10)]
    [InlineData(2, 8, 2, 5)]
    [InlineData(3, 6, 3, 7)]
    [InlineData(4, 4, 1, 3)]
    public void ForwardGivesOneRowOfLogitsPerImage(int seed, int channels, int layers, int classes)
    {
        using var scope = torch.NewDisposeScope();
        var g = new DartsSpace().Sample(new Random(seed));
        using var net = Space(channels, layers).BuildNetwork(g, Small, classes, new NetworkOptions(), seed: seed);
        Assert.IsType<DartsNetwork>(net);
        var logits = net.forward(torch.randn(2, 3, 8, 8));
        Assert.Equal(new long[] { 2, classes }, logits.shape);
        Assert.True(torch.isfinite(logits).all().item<bool>());
    }

    [Fact]
    public void DartsV2HasThePublishedParameterCount()
    {
        // DARTS' train.py logs "param size = 3.349342MB" for DARTS-V2 at C = 36, 20 cells, CIFAR-10 (the parameters
        // outside the auxiliary head); the paper rounds it to 3.3M.
        var g = DartsGenotype.Parse(DartsV2Repr);
        using var net = new DartsNetwork(g, 3, 10, new DartsNetworkOptions { Channels = 36, Layers = 20 });
        Assert.Equal(3_349_342, ParameterCount(net));

        // By hand: stem conv + BN; per cell the two 1×1 preprocessings (a factorized reduction has as many weights)
        // (c_pp + c_p)·C + 2·2C; a normal cell adds five sep_conv_3x3 (2·(9C + C² + 2C)) and one dil_conv_3x3
        // (9C + C² + 2C); this reduction cell has only pooling and identities; the classifier.
        long total = 3 * 108 * 9 + 2 * 108, cpp = 108, cp = 108, c = 36;
        for (int i = 0; i < 20; i++)
        {
            bool reduction = i is 6 or 13;
            if (reduction) c *= 2;
            total += (cpp + cp) * c + 4 * c;
            if (!reduction) total += 5 * 2 * (9 * c + c * c + 2 * c) + (9 * c + c * c + 2 * c);
            (cpp, cp) = (cp, 4 * c);
        }
        Assert.Equal(3_349_342, total + 576 * 10 + 10);
    }

    [Fact]
    public void TheSearchNetworkHasTheParameterCountOfDartsSearch()
    {
        // DARTS' train_search.py logs "param size = 1.930618MB" for its search network (C = 16, 8 cells, 10 classes).
        using var supernet = new DartsSupernet(3, 10, new DartsNetworkOptions { Channels = 16, Layers = 8 });
        Assert.Equal(1_930_618, ParameterCount(supernet));
    }

    [Fact]
    public void EveryOperationKeepsOrHalvesTheShape()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(2, 4, 8, 8);
        foreach (var op in DartsPrimitives.All)
        {
            using var same = DartsOperations.Create(op.Token(), 4, 1, affine: true);
            using var half = DartsOperations.Create(op.Token(), 4, 2, affine: false);
            Assert.Equal(new long[] { 2, 4, 8, 8 }, same.call(x).shape);
            Assert.Equal(new long[] { 2, 4, 4, 4 }, half.call(x).shape);
        }
        using var zero = DartsOperations.Create("none", 4, 2, affine: false);
        Assert.Equal(0.0, zero.call(x).abs().sum().item<float>());
        // Non-affine BN has no parameters: the search operations' weights are the convolutions' alone.
        using var sep = DartsOperations.Create(DartsOperation.SepConv3x3, 4, 1, affine: false);
        Assert.Equal(2 * (4 * 9 + 4 * 4), ParameterCount(sep));
        Assert.Contains("known: none, max_pool_3x3", Assert.Throws<ArgumentException>(() => DartsOperations.Create("conv_3x3", 4, 1, true)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => DartsOperations.Create(DartsOperation.SepConv3x3, 4, 3, true));
    }

    [Fact]
    public void BadInputsAreRefusedClearly()
    {
        var g = DartsGenotype.Parse(NoPooling);
        var space = Space(4, 3);
        var options = new NetworkOptions();
        var shape = Assert.Throws<ArgumentException>(() => space.BuildNetwork(g, [3, 8, 6], 10, options, seed: 1));
        Assert.Contains("2 reduction cells need a height and width divisible by 4, got 8×6", shape.Message);
        Assert.Contains("[channels, height, width]", Assert.Throws<ArgumentException>(() => space.BuildNetwork(g, [192], 10, options, seed: 1)).Message);
        Assert.Contains("standard parameterisation", Assert.Throws<NotSupportedException>(() => space.BuildNetwork(g, Small, 10, NetworkOptions.Ntk(), seed: 1)).Message);
        // One cell, one reduction: even sizes suffice.
        using (var scope = torch.NewDisposeScope())
        using (var one = Space(4, 1).BuildNetwork(g, [3, 6, 6], 4, options, seed: 1))
            Assert.Equal(new long[] { 2, 4 }, one.forward(torch.randn(2, 3, 6, 6)).shape);
    }

    [Fact]
    public void TheSupernetGivesLogitsAndRefusesMisshapenWeights()
    {
        using var scope = torch.NewDisposeScope();
        using var supernet = new DartsSupernet(3, 5, new DartsNetworkOptions { Channels = 4, Layers = 3 });
        Assert.Equal(new[] { "normal", "reduce" }, supernet.Groups.Select(g => g.Name));
        Assert.All(supernet.Groups, g => Assert.Equal((14, 8), (g.Edges, g.Operations.Count)));
        Assert.Contains("SetMixingWeights", Assert.Throws<InvalidOperationException>(() => supernet.forward(torch.randn(2, 3, 8, 8))).Message);

        var wrong = Assert.Throws<ArgumentException>(() => supernet.SetMixingWeights([torch.ones(14, 8), torch.ones(14, 7)]));
        Assert.Contains("Mixing weights of 'reduce' must be [14, 8], got [14, 7]", wrong.Message);
        Assert.Contains("Expected 2 groups", Assert.Throws<ArgumentException>(() => supernet.SetMixingWeights([torch.ones(14, 8)])).Message);

        supernet.SetMixingWeights([torch.full(14, 8, 1 / 8.0), torch.full(14, 8, 1 / 8.0)]);
        var logits = supernet.forward(torch.randn(2, 3, 8, 8));
        Assert.Equal(new long[] { 2, 5 }, logits.shape);
        Assert.True(torch.isfinite(logits).all().item<bool>());
    }

    [Fact]
    public void GradientsReachTheMixingWeights()
    {
        using var scope = torch.NewDisposeScope();
        torch.random.manual_seed(3);
        using var supernet = new DartsSupernet(3, 5, new DartsNetworkOptions { Channels = 4, Layers = 3 });
        var normal = torch.rand(14, 8).requires_grad_(true);
        var reduce = torch.rand(14, 8).requires_grad_(true);
        supernet.SetMixingWeights([normal, reduce]);
        var output = supernet.forward(torch.randn(2, 3, 8, 8));
        var grads = torch.autograd.grad([output.sum()], [normal, reduce]);
        foreach (var grad in grads)
        {
            Assert.Equal(new long[] { 14, 8 }, grad.shape);
            Assert.True(torch.isfinite(grad).all().item<bool>());
            // `none` contributes w·0, whose gradient is 0; every other operation on every edge reaches the output.
            Assert.Equal(0.0, grad[.., 0].abs().sum().item<float>());
            Assert.True(grad[.., 1..].ne(0).all().item<bool>(), "an operation's mixing weight got no gradient");
        }
    }

    [Fact]
    public void TheRelaxationDerivesWithDartsRuleAndBuildsTheSupernetOfTheSpacesSkeleton()
    {
        var relaxation = Space(4, 2).Relaxation;
        var normal = new double[14, 8];
        var reduce = new double[14, 8];
        normal[13, (int)DartsOperation.SepConv5x5] = 3;
        reduce[0, (int)DartsOperation.AvgPool3x3] = 1;
        Assert.Equal(DartsGenotype.Derive(normal, reduce), relaxation.Derive([normal, reduce]));
        Assert.Throws<ArgumentException>(() => relaxation.Derive([normal]));
        Assert.Throws<ArgumentException>(() => relaxation.Derive([normal, reduce], "argmax"));
        using var scope = torch.NewDisposeScope();
        using var supernet = (DartsSupernet)relaxation.BuildSupernet([3, 8, 8], 10, seed: 1);
        Assert.Equal((4, 2), (supernet.Options.Channels, supernet.Options.Layers));
        Assert.Equal(relaxation.Groups, supernet.Groups);
    }

    [Fact]
    public void WithOneHotWeightsTheSupernetComputesTheDerivedNetwork()
    {
        // One-hot weights select a cell's genes (the other edges `none`); with the supernet's weights copied into the
        // evaluation network, both compute the same function in float64. The evaluation network's affine BN starts at
        // scale 1, shift 0, so it equals the supernet's non-affine BN; both use batch statistics in training mode. Pooling
        // is left out: the supernet follows it by a BN, the evaluation network does not.
        using var scope = torch.NewDisposeScope();
        var g = DartsGenotype.Parse(NoPooling);
        var skeleton = new DartsNetworkOptions { Channels = 4, Layers = 3 };
        torch.random.manual_seed(4);
        using var supernet = new DartsSupernet(3, 5, skeleton, dtype: ScalarType.Float64);
        using var network = new DartsNetwork(g, 3, 5, skeleton, dtype: ScalarType.Float64);

        Tensor OneHot(bool reduction)
        {
            var w = torch.zeros(14, 8, dtype: ScalarType.Float64);
            w[.., (int)DartsOperation.None].fill_(1);
            foreach (var (gene, i) in g.Cell(reduction).Select((gene, i) => (gene, i)))
            {
                int e = DartsGenotype.EdgeIndex(i / 2, gene.Input);
                w[e, (int)DartsOperation.None].fill_(0);
                w[e, (int)gene.Operation].fill_(1);
            }
            return w;
        }
        supernet.SetMixingWeights([OneHot(false), OneHot(true)]);

        // The supernet holds its skeleton as "network"; the evaluation network is the skeleton itself.
        var source = supernet.named_parameters().ToDictionary(p => p.name["network.".Length..], p => p.parameter);
        var gene = new Regex(@"^cells\.(\d+)\.ops\.(\d+)\.(.*)$");
        int copied = 0;
        using (torch.no_grad())
            foreach (var (name, parameter) in network.named_parameters())
            {
                var m = gene.Match(name);
                string from = name;
                if (m.Success)
                {
                    int cell = int.Parse(m.Groups[1].Value), index = int.Parse(m.Groups[2].Value);
                    var dg = g.Cell(skeleton.IsReduction(cell))[index];
                    from = $"cells.{cell}.edges.{DartsGenotype.EdgeIndex(index / 2, dg.Input)}.ops.{(int)dg.Operation}.{m.Groups[3].Value}";
                }
                if (source.TryGetValue(from, out var value)) { parameter.copy_(value); copied++; }
                else Assert.Matches(@"bn\.(weight|bias)$", name);
            }
        Assert.True(copied > 50, $"only {copied} parameters copied");

        SameFunction.AssertInTraining(supernet, network, [2, 3, 8, 8]);
    }
}
