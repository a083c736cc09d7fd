using NasSharp.Networks;
using NasSharp.Spaces;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Networks;

[Collection(TorchCollection.Name)]
public class Nb201NetworkTests
{
    // Index 6111 of the benchmark, its best CIFAR-10 cell (94.37 % test accuracy).
    private const string Best = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|";
    private const string AllConv3x3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|";
    private const string AllNone = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|";
    private const string EveryOp = "|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|";

    private static readonly int[] Cifar = [3, 32, 32];

    private static long ParameterCount(nn.Module module) => module.parameters().Sum(p => p.numel());

    /// <summary>The space's cost counter for a cell on height × width images.</summary>
    private static NetworkCost Cost(Nb201Genotype g, int classes, Nb201NetworkOptions? options = null, int height = 32, int width = 32) =>
        new Nb201Space(network: options).Cost(g, [3, height, width], classes);

    private static Nb201Space Space(int channels, int cellsPerStage) => new(network: new Nb201NetworkOptions { Channels = channels, CellsPerStage = cellsPerStage });

    [Theory]
    [InlineData(Best, 10)]
    [InlineData(AllNone, 10)]
    [InlineData(EveryOp, 100)]
    [InlineData("|avg_pool_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|skip_connect~1|avg_pool_3x3~2|", 120)]
    public void ForwardGivesOneRowOfLogitsPerImage(string arch, int classes)
    {
        using var scope = torch.NewDisposeScope();
        using var net = new Nb201Space().BuildNetwork(Nb201Genotype.Parse(arch), Cifar, classes, new NetworkOptions(), seed: 1);
        var logits = net.forward(torch.randn(2, 3, 32, 32));
        Assert.Equal(new long[] { 2, classes }, logits.shape);
        Assert.True(torch.isfinite(logits).all().item<bool>());
    }

    [Fact]
    public void ParameterCountsMatchNasBench201sPublishedExtremesAndAHandCount()
    {
        // NAS-Bench-201 v1.1 reports params/10^6 per network: over all 15,625 cells the range is 0.073306–1.531546
        // on CIFAR-10, 0.079156–1.537396 on CIFAR-100 (100 classes), 0.080456–1.538696 on ImageNet16-120 (120 classes);
        // the minimum is any cell without convolutions, the maximum the all-3×3 cell.
        var none = Nb201Genotype.Parse(AllNone);
        var conv = Nb201Genotype.Parse(AllConv3x3);
        Assert.Equal(73_306, Cost(none, 10).Parameters);
        Assert.Equal(1_531_546, Cost(conv, 10).Parameters);
        Assert.Equal(79_156, Cost(none, 100).Parameters);
        Assert.Equal(1_537_396, Cost(conv, 100).Parameters);
        Assert.Equal(80_456, Cost(none, 120, height: 16, width: 16).Parameters);
        Assert.Equal(1_538_696, Cost(conv, 120, height: 16, width: 16).Parameters);

        // Index 6111 by hand: the skeleton (73,306 as above) plus, in each of 5 cells per stage at C = 16, 32, 64,
        // four ReLU–Conv3×3–BN (9C² + 2C) and one ReLU–Conv1×1–BN (C² + 2C).
        long cells = new[] { 16L, 32, 64 }.Sum(c => 5 * (4 * (9 * c * c + 2 * c) + (c * c + 2 * c)));
        Assert.Equal(73_306 + cells, Cost(Nb201Genotype.Parse(Best), 10).Parameters);
        Assert.Equal(1_073_466, 73_306 + cells);
    }

    [Fact]
    public void FlopCountsMatchNasBench201sPublishedExtremesAndAHandCount()
    {
        // NAS-Bench-201 v1.1 'flop' (M) ranges: 7.78305–220.11969 (CIFAR-10), 7.7889–220.12554 (CIFAR-100),
        // 1.9534–55.03756 (ImageNet16-120, 16×16 inputs).
        var none = Nb201Genotype.Parse(AllNone);
        var conv = Nb201Genotype.Parse(AllConv3x3);
        Assert.Equal(7_783_050, Cost(none, 10).MultiplyAdds);
        Assert.Equal(220_119_690, Cost(conv, 10).MultiplyAdds);
        Assert.Equal(7_788_900, Cost(none, 100).MultiplyAdds);
        Assert.Equal(220_125_540, Cost(conv, 100).MultiplyAdds);
        Assert.Equal(1_953_400, Cost(none, 120, height: 16, width: 16).MultiplyAdds);
        Assert.Equal(55_037_560, Cost(conv, 120, height: 16, width: 16).MultiplyAdds);
        Assert.Equal(220.11969, Cost(conv, 10).FlopsInMillions, 9);

        // Index 6111 by hand: each 3×3 conv edge costs 9·C²·HW = 2,359,296 at every stage (C doubles as HW quarters),
        // each 1×1 edge 262,144; 15 cells of four 3×3 edges and one 1×1 edge on top of the 7,783,050 skeleton.
        Assert.Equal(7_783_050 + 15L * (4 * 2_359_296 + 262_144), Cost(Nb201Genotype.Parse(Best), 10).MultiplyAdds);
    }

    [Theory]
    [InlineData(Best, 10, 16, 5, true)]
    [InlineData(EveryOp, 100, 8, 3, true)]
    [InlineData(AllConv3x3, 7, 8, 2, false)]
    [InlineData(AllNone, 3, 4, 0, true)]
    public void TheCounterAgreesWithTheBuiltModule(string arch, int classes, int channels, int cellsPerStage, bool affine)
    {
        using var scope = torch.NewDisposeScope();
        var g = Nb201Genotype.Parse(arch);
        var options = new Nb201NetworkOptions { Channels = channels, CellsPerStage = cellsPerStage, Affine = affine };
        using var net = new Nb201Space(network: options).BuildNetwork(g, Cifar, classes, new NetworkOptions(), seed: 2);
        var cost = Cost(g, classes, options);
        Assert.Equal(ParameterCount(net), cost.Parameters);

        // FLOPs from forward hooks on the built module's Conv2d and Linear layers, with the output shapes libtorch
        // actually produces, in flop_benchmark.py's convention.
        long macs = 0;
        foreach (var m in net.modules())
        {
            if (m is Conv2d c)
                c.register_forward_hook((_, _, y) =>
                {
                    long k = c.kernel_size[0] * c.kernel_size[1];
                    macs += k * c.in_channels * c.out_channels * y.shape[2] * y.shape[3] + (c.bias is null ? 0 : c.out_channels * y.shape[2] * y.shape[3]);
                    return y;
                });
            else if (m is Linear l)
                l.register_forward_hook((_, _, y) => { macs += l.in_features * l.out_features + (l.bias is null ? 0 : l.out_features); return y; });
        }
        using (torch.no_grad()) net.forward(torch.randn(1, 3, 32, 32));
        Assert.Equal(cost.MultiplyAdds, macs);
    }

    [Fact]
    public void HookableModulesAreTorchSharpsOwnReluConvAndBatchNorm()
    {
        using var scope = torch.NewDisposeScope();
        using var net = Space(8, 2).BuildNetwork(Nb201Genotype.Parse(AllConv3x3), Cifar, 10, new NetworkOptions(), seed: 3);
        var modules = net.modules().ToList();
        // 6 ReLU–Conv–BN edges × 6 cells, 2 in each of the 2 reductions, and the final BN + ReLU.
        Assert.Equal(6 * 6 + 2 * 2 + 1, modules.OfType<ReLU>().Count());
        // The same convs, plus the stem and the 2 shortcut 1×1 convs.
        Assert.Equal(6 * 6 + 2 * 2 + 1 + 2, modules.OfType<Conv2d>().Count());
        Assert.Equal(6 * 6 + 2 * 2 + 1 + 1, modules.OfType<BatchNorm2d>().Count());

        // A NASWOT-style forward hook on every ReLU fires once per ReLU per forward pass.
        int fired = 0;
        foreach (var relu in modules.OfType<ReLU>()) relu.register_forward_hook((_, _, y) => { fired++; return y; });
        using (torch.no_grad()) net.forward(torch.randn(2, 3, 32, 32));
        Assert.Equal(41, fired);
    }

    [Fact]
    public void TheSameSeedBuildsTheSameWeights()
    {
        using var scope = torch.NewDisposeScope();
        var g = Nb201Genotype.Parse(Best);
        var space = Space(4, 1);
        using var a = space.BuildNetwork(g, Cifar, 10, new NetworkOptions(), seed: 5);
        using var b = space.BuildNetwork(g, Cifar, 10, new NetworkOptions(), seed: 5);
        using var c = space.BuildNetwork(g, Cifar, 10, new NetworkOptions(), seed: 6);
        var pa = a.parameters().ToList();
        var pb = b.parameters().ToList();
        var pc = c.parameters().ToList();
        Assert.All(pa.Zip(pb), p => Assert.True(p.First.eq(p.Second).all().item<bool>()));
        Assert.False(pa.Zip(pc).All(p => p.First.eq(p.Second).all().item<bool>()));
    }

    [Fact]
    public void ForwardMatchesAHandWrittenPassInFloat64()
    {
        // A small network (C = 4, N = 1) with every operation, recomputed from its parameters: BN in training mode by
        // hand, 3×3 average pooling without padding in the count by hand, the residual reductions, sums over edges.
        using var scope = torch.NewDisposeScope();
        var g = Nb201Genotype.Parse(EveryOp);
        using var net = Space(4, 1).BuildNetwork(g, [3, 8, 8], 5, new NetworkOptions { DType = ScalarType.Float64 }, seed: 7);
        var p = net.named_parameters().ToDictionary(kv => kv.name, kv => (Tensor)kv.parameter);
        var x = torch.randn(3, 3, 8, 8, dtype: ScalarType.Float64);

        Tensor Bn(Tensor t, string name)
        {
            var mean = t.mean([0, 2, 3], keepdim: true);
            var variance = (t - mean).pow(2).mean([0, 2, 3], keepdim: true);
            return (t - mean) / (variance + 1e-5).sqrt() * p[name + ".weight"].view(1, -1, 1, 1) + p[name + ".bias"].view(1, -1, 1, 1);
        }
        Tensor Conv(Tensor t, string name, long stride, long padding) =>
            nn.functional.conv2d(t, p[name + ".weight"], strides: [stride, stride], padding: [padding, padding]);
        Tensor ReluConvBn(Tensor t, string name, long stride, long padding) =>
            Bn(Conv(t.relu(), name + ".conv", stride, padding), name + ".bn");
        Tensor AvgPool(Tensor t)
        {
            var padded = nn.functional.pad(t, [1, 1, 1, 1]);
            var ones = nn.functional.pad(torch.ones_like(t), [1, 1, 1, 1]);
            Tensor sum = torch.zeros_like(t), count = torch.zeros_like(t);
            long h = t.shape[2], w = t.shape[3];
            for (int dy = 0; dy < 3; dy++)
                for (int dx = 0; dx < 3; dx++)
                {
                    sum += padded[.., .., dy..(int)(dy + h), dx..(int)(dx + w)];
                    count += ones[.., .., dy..(int)(dy + h), dx..(int)(dx + w)];
                }
            return sum / count;
        }
        Tensor Cell(Tensor n0, string name)
        {
            // EveryOp: 1←0 conv3x3; 2←0 avg_pool, 2←1 conv1x1; 3←0 skip, 3←1 none, 3←2 avg_pool.
            var n1 = ReluConvBn(n0, name + ".edges.0", 1, 1);
            var n2 = AvgPool(n0) + ReluConvBn(n1, name + ".edges.2", 1, 0);
            return n0 + n1 * 0 + AvgPool(n2);
        }
        Tensor Reduction(Tensor t, string name)
        {
            var block = ReluConvBn(ReluConvBn(t, name + ".conv_a", 2, 1), name + ".conv_b", 1, 1);
            var shortcut = Conv(nn.functional.avg_pool2d(t, 2, 2), name + ".downsample.conv", 1, 0);
            return shortcut + block;
        }

        var h = Bn(Conv(x, "stem.conv", 1, 1), "stem.bn");
        h = Cell(h, "cells.0");
        h = Reduction(h, "cells.1");
        h = Cell(h, "cells.2");
        h = Reduction(h, "cells.3");
        h = Cell(h, "cells.4");
        h = Bn(h, "lastact.bn").relu().mean([2, 3]);
        var expected = h.matmul(p["classifier.weight"].t()) + p["classifier.bias"];

        var actual = net.forward(x);
        Assert.True(torch.allclose(actual, expected, rtol: 1e-10, atol: 1e-10),
            $"max |Δ| = {(actual - expected).abs().max().item<double>()}");
    }

    [Fact]
    public void BadInputsAndTheNtkParameterisationAreRefusedClearly()
    {
        var g = Nb201Genotype.Parse(Best);
        var space = new Nb201Space();
        var shape = Assert.Throws<ArgumentException>(() => space.BuildNetwork(g, [3, 30, 30], 10, new NetworkOptions(), seed: 1));
        Assert.Contains("divisible by 4", shape.Message);
        var flat = Assert.Throws<ArgumentException>(() => space.BuildNetwork(g, [784], 10, new NetworkOptions(), seed: 1));
        Assert.Contains("[channels, height, width]", flat.Message);
        var ntk = Assert.Throws<NotSupportedException>(() => space.BuildNetwork(g, Cifar, 10, NetworkOptions.Ntk(), seed: 1));
        Assert.Contains("standard parameterisation", ntk.Message);

        using var scope = torch.NewDisposeScope();
        using var net = Space(4, 1).BuildNetwork(g, Cifar, 10, new NetworkOptions(), seed: 1);
        var wrong = Assert.Throws<ArgumentException>(() => net.forward(torch.randn(2, 1, 32, 32)));
        Assert.Contains("built for 3 input channels, got 1", wrong.Message);
    }
    [Fact]
    public void WithOneHotWeightsTheSupernetComputesTheDerivedNetwork()
    {
        // The supernet and the network of a cell share one skeleton; with one-hot mixing weights on the cell's operations
        // and the supernet's weights copied into the network, both compute the same function in float64 (the network
        // built with the supernet's non-affine, batch-statistics BN). Every operation is in the cell, `none` included.
        using var scope = torch.NewDisposeScope();
        var g = Nb201Genotype.Parse(EveryOp);
        var options = new Nb201NetworkOptions { Channels = 4, CellsPerStage = 1, Affine = false, TrackRunningStats = false };
        torch.random.manual_seed(3);
        using var supernet = new Nb201Supernet(3, 5, options, dtype: ScalarType.Float64);
        using var network = new Nb201Network(g, 3, 5, options, dtype: ScalarType.Float64);
        int operations = Nb201Operations.All.Count;
        var oneHot = torch.zeros(Nb201Genotype.EdgeCount, operations, dtype: ScalarType.Float64);
        for (int e = 0; e < Nb201Genotype.EdgeCount; e++) oneHot[e, (int)g.Operations[e]].fill_(1);
        supernet.SetMixingWeights([oneHot]);

        // The supernet holds the skeleton as "network" and its edge e's operation o at edges[e·|O| + o].
        var source = supernet.named_parameters().ToDictionary(p => p.name["network.".Length..], p => p.parameter);
        var edge = new System.Text.RegularExpressions.Regex(@"^cells\.(\d+)\.edges\.(\d+)\.(.*)$");
        int copied = 0;
        using (torch.no_grad())
            foreach (var (name, parameter) in network.named_parameters())
            {
                var m = edge.Match(name);
                int e = m.Success ? int.Parse(m.Groups[2].Value) : -1;
                string from = m.Success ? $"cells.{m.Groups[1].Value}.edges.{e * operations + (int)g.Operations[e]}.{m.Groups[3].Value}" : name;
                parameter.copy_(source[from]);
                copied++;
            }
        Assert.True(copied > 10, $"only {copied} parameters copied");

        var (x, expected) = SameFunction.AssertInTraining(supernet, network, [2, 3, 8, 8]);
        // A different cell's weights give a different function: the comparison can fail.
        oneHot[0].zero_();
        oneHot[0, (int)Nb201Operation.SkipConnect].fill_(1);
        Assert.False(torch.allclose(supernet.forward(x), expected, rtol: 1e-6, atol: 1e-6));
    }
}
