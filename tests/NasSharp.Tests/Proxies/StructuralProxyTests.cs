using NasSharp.Networks;
using NasSharp.Proxies;
using NasSharp.Spaces;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Proxies;

/// <summary>params, flops and synflow against hand counts and closed forms.</summary>
[Collection(TorchCollection.Name)]
public class StructuralProxyTests
{
    [Fact]
    public void ParamsCountsEveryTrainableParameterOfTheConvNet()
    {
        using var scope = NewDisposeScope();
        // stem 3·4·9 + BN 2·4 + block conv 4·4·9 + BN 2·4 + reduction 4·8·9 + BN 2·8 + classifier 8·3 + 3.
        const double expected = 108 + 8 + 144 + 8 + 288 + 16 + 27;
        var score = ProxyNets.ScoreAlone(new ParamsProxy(), () => TinyConvNet.Build(1), ProxyNets.Images(1, 2), null, 3);
        Assert.Equal(expected, score.Value);
    }

    [Fact]
    public void FlopsCountsConvAndLinearMultiplyAddsPerSample()
    {
        using var scope = NewDisposeScope();
        // 8×8 input: stem 4·8·8 outputs × 3·3·3; block conv 4·8·8 × 4·3·3; stride-2 reduction 8·4·4 × 4·3·3; classifier 3 × 8.
        const double expected = 256 * 27 + 256 * 36 + 128 * 36 + 3 * 8;
        var score = ProxyNets.ScoreAlone(new FlopsProxy(), () => TinyConvNet.Build(1), ProxyNets.Images(1, 5), null, 3);
        Assert.Equal(expected, score.Value);
    }

    [Fact]
    public void FlopsOfAnMlpNetworkAreTheProductsOfItsLayerSizes()
    {
        using var scope = NewDisposeScope();
        var genotype = MlpGenotype.Parse("w16/relu-tanh+1");
        var score = ProxyNets.ScoreAlone(new FlopsProxy(),
            () => new MlpSpace().BuildNetwork(genotype, [5], 3, new NetworkOptions { DType = ScalarType.Float64 }, seed: 1),
            randn(new long[] { 4, 5 }, dtype: ScalarType.Float64), null, 3);
        Assert.Equal(5 * 16 + 16 * 16 + 16 * 3, score.Value);
    }

    [Fact]
    public void HookBasedProxiesAreNotApplicableWhenLayersRunThroughForward()
    {
        using var scope = NewDisposeScope();
        var x = ProxyNets.Images(1, 4, size: 4, dtype: ScalarType.Float32);
        var y = ProxyNets.Labels(2, 4, 3);
        Func<nn.Module<Tensor, Tensor>> build = () => { random.manual_seed(1); return new ForwardOnlyNet(); };
        var flops = ProxyNets.ScoreAlone(new FlopsProxy(), build, x, y, 3);
        var fisher = ProxyNets.ScoreAlone(new FisherProxy(), build, x, y, 3);
        Assert.Equal(ProxyStatus.NotApplicable, flops.Status);
        Assert.Contains("call()", flops.Reason);
        Assert.Equal(ProxyStatus.NotApplicable, fisher.Status);
    }

    /// <summary>R = 1ᵀ|W_L|⋯|W_1|1 in C# doubles.</summary>
    private static double ChainR(IReadOnlyList<double[,]> weights)
    {
        var v = Enumerable.Repeat(1.0, weights[0].GetLength(1)).ToArray();
        foreach (var w in weights)
        {
            var next = new double[w.GetLength(0)];
            for (int i = 0; i < next.Length; i++)
                for (int j = 0; j < v.Length; j++) next[i] += Math.Abs(w[i, j]) * v[j];
            v = next;
        }
        return v.Sum();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SynflowOfABiasFreeChainIsDepthTimesR(bool withRelu)
    {
        using var scope = NewDisposeScope();
        // R(θ) = 1ᵀ(Π|W_l|)1 is homogeneous of degree 1 in each W_l, so Σ_l W_l ⊙ ∂R/∂W_l = L·R (Euler). With |W| and a
        // positive input every ReLU input is positive, so the ReLUs are identities.
        Func<nn.Module<Tensor, Tensor>> build = () =>
        {
            random.manual_seed(5);
            return withRelu
                ? nn.Sequential(nn.Linear(4, 5, hasBias: false), nn.ReLU(), nn.Linear(5, 3, hasBias: false), nn.ReLU(), nn.Linear(3, 2, hasBias: false))
                : nn.Sequential(nn.Linear(4, 5, hasBias: false), nn.Linear(5, 3, hasBias: false), nn.Linear(3, 2, hasBias: false));
        };
        using var probe = build();
        var weights = probe.parameters().Select(p => ManualMlp.Matrix(p)).ToArray();
        double expected = 3 * ChainR(weights);

        var x = randn(new long[] { 3, 4 }); // float32: synflow ignores the values and works on a float64 copy
        using var context = ProxyNets.Context(build, x, null, 2);
        var before = context.Network.parameters().Select(p => p.clone()).ToArray();
        var score = new SynflowProxy().Score(context);

        Assert.True(Math.Abs(score.Value - expected) <= 1e-12 * expected, $"expected {expected:R}, got {score}");
        // It worked on a copy: the shared network keeps its signed weights.
        var after = context.Network.parameters().ToArray();
        for (int i = 0; i < before.Length; i++) Assert.True((before[i] == after[i]).all().item<bool>());
    }

    [Fact]
    public void SynflowRunsOnTheConvNetWithBatchNormAndIsPositive()
    {
        using var scope = NewDisposeScope();
        var score = ProxyNets.ScoreAlone(new SynflowProxy(), () => TinyConvNet.Build(2, dtype: ScalarType.Float32), ProxyNets.Images(1, 2, dtype: ScalarType.Float32), null, 3);
        Assert.True(score.IsFinite && score.Value > 0, score.ToString());
    }
}
