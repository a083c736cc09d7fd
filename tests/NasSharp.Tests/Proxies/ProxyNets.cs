using NasSharp.Networks;
using NasSharp.Proxies;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Tests.Proxies;

/// <summary>
/// A small NAS-Bench-201-like network built from standard TorchSharp modules: stem conv-BN, a residual block
/// (ReLU-conv-BN added to its input), a stride-2 reduction (ReLU-conv-BN), global average pooling and a linear classifier.
/// The stem, the block and the reduction are its stages (<see cref="IStagedNetwork"/>).
/// </summary>
internal sealed class TinyConvNet : nn.Module<Tensor, Tensor>, IStagedNetwork
{
    private readonly Sequential stem;
    private readonly ResidualBlock block;
    private readonly Sequential reduce;
    private readonly AdaptiveAvgPool2d pool;
    private readonly Linear classifier;

    public TinyConvNet(int channels, int classes, int inChannels = 3) : base(nameof(TinyConvNet))
    {
        stem = nn.Sequential(("conv", nn.Conv2d(inChannels, channels, 3, padding: 1, bias: false)), ("bn", nn.BatchNorm2d(channels)));
        block = new ResidualBlock(channels);
        reduce = nn.Sequential(("relu", nn.ReLU()), ("conv", nn.Conv2d(channels, 2 * channels, 3, stride: 2, padding: 1, bias: false)),
            ("bn", nn.BatchNorm2d(2 * channels)));
        pool = nn.AdaptiveAvgPool2d(1);
        classifier = nn.Linear(2 * channels, classes);
        RegisterComponents();
    }

    public IReadOnlyList<nn.Module<Tensor, Tensor>> Stages => [stem, block, reduce];

    public static TinyConvNet Build(long seed, int channels = 4, int classes = 3, ScalarType dtype = ScalarType.Float64)
    {
        random.manual_seed(seed);
        var net = new TinyConvNet(channels, classes);
        net.to(dtype);
        return net;
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = reduce.call(block.call(stem.call(x)));
        return classifier.call(pool.call(h).flatten(1)).MoveToOuterDisposeScope();
    }

    /// <summary>h + BN(conv(ReLU(h))).</summary>
    private sealed class ResidualBlock : nn.Module<Tensor, Tensor>
    {
        private readonly ReLU relu;
        private readonly Conv2d conv;
        private readonly BatchNorm2d bn;

        public ResidualBlock(int channels) : base(nameof(ResidualBlock))
        {
            relu = nn.ReLU();
            conv = nn.Conv2d(channels, channels, 3, padding: 1, bias: false);
            bn = nn.BatchNorm2d(channels);
            RegisterComponents();
        }

        public override Tensor forward(Tensor h) => h + bn.call(conv.call(relu.call(h)));
    }
}

/// <summary>The same kind of network, but invoking its layers with forward(), which skips TorchSharp's hooks.</summary>
internal sealed class ForwardOnlyNet : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly Linear linear;

    public ForwardOnlyNet() : base(nameof(ForwardOnlyNet))
    {
        conv = nn.Conv2d(3, 2, 3, padding: 1);
        linear = nn.Linear(2 * 4 * 4, 3);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return linear.forward(nn.functional.relu(conv.forward(x)).flatten(1)).MoveToOuterDisposeScope();
    }
}

internal static class ProxyNets
{
    public static Tensor Images(long seed, int n, int channels = 3, int size = 8, ScalarType dtype = ScalarType.Float64)
    {
        random.manual_seed(seed);
        return randn(new long[] { n, channels, size, size }, dtype: dtype);
    }

    public static Tensor Labels(long seed, int n, int classes)
    {
        random.manual_seed(seed);
        return randint(0, classes, new long[] { n }, dtype: ScalarType.Int64);
    }

    public static ProxyContext Context(Func<nn.Module<Tensor, Tensor>> build, Tensor x, Tensor? y, int classes, long seed = 0,
        SharedComputation plan = SharedComputation.None) => new(build, x, y, classes, seed, plan);

    public static ProxyScore ScoreAlone(IProxy proxy, Func<nn.Module<Tensor, Tensor>> build, Tensor x, Tensor? y, int classes, long seed = 0)
    {
        using var context = Context(build, x, y, classes, seed);
        return proxy.Score(context);
    }
}
