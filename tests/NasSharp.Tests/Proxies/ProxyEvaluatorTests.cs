using NasSharp.Networks;
using NasSharp.Proxies;
using NasSharp.Spaces;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Proxies;

[Collection(TorchCollection.Name)]
public class ProxyEvaluatorTests
{
    // What naswot and fisher measure on the shared train-mode pass, as they declare it.
    private static readonly TrainPassProbe Codes = new NaswotProxy().Requirements.Observes!;
    private static readonly TrainPassProbe Masks = new FisherProxy().Requirements.Observes!;

    [Fact]
    public void RegistryHasEveryProxyOnceUnderItsName()
    {
        string[] expected = ["params", "flops", "grad_norm", "snip", "grasp", "fisher", "synflow", "jacob_cov", "naswot",
            "ntk_cond", "ntk_trace", "ntk_min_eig", "zico", "meco", "jacobian_isometry", "az_expressivity", "az_progressivity",
            "az_trainability", "swap", "swap_reg"];
        Assert.Equal(expected, ProxyRegistry.Names);
        Assert.Equal("synflow", ProxyRegistry.Get("synflow").Name);
        Assert.Equal(["snip", "naswot"], ProxyRegistry.Parse(" snip, naswot ").Select(p => p.Name));
        var unknown = Assert.Throws<ArgumentException>(() => ProxyRegistry.Get("zen"));
        Assert.Contains("ntk_min_eig", unknown.Message);
        Assert.Throws<ArgumentException>(() => ProxyRegistry.Parse("snip,snip"));
    }

    [Fact]
    public void SharedEvaluationGivesTheScoresOfEachProxyAloneWithOneTrainPass()
    {
        using var scope = NewDisposeScope();
        var x = ProxyNets.Images(5, 6);
        var y = ProxyNets.Labels(6, 6, 3);
        var evaluation = new ProxyEvaluator(ProxyRegistry.All).Evaluate(() => TinyConvNet.Build(11), x, y, 3, seed: 11);

        Assert.Single(evaluation.SharedStages, s => s.Name.StartsWith("train-mode pass", StringComparison.Ordinal));
        Assert.Single(evaluation.SharedStages, s => s.Name == "empirical NTK");
        foreach (var proxy in ProxyRegistry.All)
        {
            var alone = ProxyNets.ScoreAlone(proxy, () => TinyConvNet.Build(11), x, y, 3, seed: 11);
            double shared = evaluation[proxy.Name].Value;
            // Same arithmetic in a different grouping of autograd calls: equal to rounding.
            Assert.True(Math.Abs(shared - alone.Value) <= 1e-12 * Math.Max(1, Math.Abs(alone.Value)), $"{proxy.Name}: shared {shared:R}, alone {alone.Value:R}");
        }
    }

    [Fact]
    public void SameSeedGivesTheSameScoresAndAnotherSeedOthers()
    {
        using var scope = NewDisposeScope();
        // float32 with 16 channels: on this machine libtorch's float32 3×3 Conv2d input gradient is wrong and varies from
        // call to call when out_channels is not a multiple of 16 (docs/experiments/platform-notes.md), so 4 channels would
        // test libtorch, not the proxies.
        var x = ProxyNets.Images(7, 6, dtype: ScalarType.Float32);
        var y = ProxyNets.Labels(8, 6, 3);
        var evaluator = new ProxyEvaluator(ProxyRegistry.All);
        ProxyEvaluation Run(long seed) => evaluator.Evaluate(() => TinyConvNet.Build(seed, channels: 16, dtype: ScalarType.Float32), x, y, 3, seed);

        var a = Run(1);
        var b = Run(1);
        var c = Run(2);
        foreach (var r in a.Results)
        {
            Assert.True(r.Score.IsFinite, $"{r.Name}: {r.Score}");
            Assert.True(r.Score.Value == b[r.Name].Value, $"{r.Name}: {r.Score.Value:R} then {b[r.Name].Value:R}");
        }
        Assert.NotEqual(a["synflow"].Value, c["synflow"].Value);
        Assert.NotEqual(a["meco"].Value, c["meco"].Value);
        Assert.Equal(a["params"].Value, c["params"].Value);
    }

    [Fact]
    public void ANetworkThatProducesNaNGetsNonFiniteScoresWithReasons()
    {
        using var scope = NewDisposeScope();
        Func<nn.Module<Tensor, Tensor>> build = () =>
        {
            var net = TinyConvNet.Build(12);
            using (no_grad()) net.parameters().First()[0, 0, 0, 0] = double.NaN; // one stem weight
            return net;
        };
        var evaluation = new ProxyEvaluator(ProxyRegistry.All).Evaluate(build, ProxyNets.Images(9, 4), ProxyNets.Labels(10, 4, 3), 3, seed: 1);
        foreach (var r in evaluation.Results)
        {
            if (r.Name is "params" or "flops")
            {
                Assert.True(r.Score.IsFinite, $"{r.Name}: {r.Score}");
                continue;
            }
            Assert.True(r.Score.Status == ProxyStatus.NonFinite, $"{r.Name}: {r.Score}");
            Assert.False(double.IsFinite(r.Score.Value));
            Assert.False(string.IsNullOrWhiteSpace(r.Score.Reason), r.Name);
        }
        Assert.Contains("NaN", evaluation["grad_norm"].Reason);
        Assert.Contains("NaN", evaluation["naswot"].Reason);
    }

    [Fact]
    public void LabelFreeProxiesNeedNoLabelsAndOthersSayTheyDo()
    {
        using var scope = NewDisposeScope();
        var x = ProxyNets.Images(1, 4);
        var free = new ProxyEvaluator(ProxyRegistry.Parse("params,flops,synflow,jacob_cov,naswot,ntk_cond,meco"));
        Assert.False(free.NeedsLabels);
        var evaluation = free.Evaluate(() => TinyConvNet.Build(1), x, null, 3, seed: 1);
        Assert.All(evaluation.Results, r => Assert.True(r.Score.IsFinite, $"{r.Name}: {r.Score}"));

        var labelled = new ProxyEvaluator(ProxyRegistry.Parse("snip,zico"));
        var error = Assert.Throws<ArgumentException>(() => labelled.Evaluate(() => TinyConvNet.Build(1), x, null, 3, seed: 1));
        Assert.Contains("snip, zico", error.Message);
    }

    [Fact]
    public void ContextRejectsLabelsThatDoNotFit()
    {
        using var scope = NewDisposeScope();
        var x = ProxyNets.Images(1, 4);
        Func<nn.Module<Tensor, Tensor>> build = () => TinyConvNet.Build(1);
        Assert.Throws<ArgumentException>(() => new ProxyContext(build, x, tensor(new long[] { 0, 1, 2 }), 3, 0));
        Assert.Throws<ArgumentException>(() => new ProxyContext(build, x, tensor(new long[] { 0, 1, 2, 3 }), 3, 0));
        Assert.Throws<ArgumentException>(() => new ProxyContext(build, x, tensor(new[] { 0f, 1, 2, 0 }), 3, 0));
        using var wrongType = new ProxyContext(build, x.to_type(ScalarType.Float32), null, 3, 0);
        Assert.Contains("Float32", Assert.Throws<ArgumentException>(() => wrongType.Network).Message);
    }

    [Fact]
    public void EveryProxyRunsOnAnMlpNetworkExceptMecoAndAzNas()
    {
        using var scope = NewDisposeScope();
        var genotype = MlpGenotype.Parse("w32/relu-gelu+1-relu+2");
        random.manual_seed(3);
        var x = randn(new long[] { 8, 6 });
        var y = randint(0, 4, new long[] { 8 }, dtype: ScalarType.Int64);
        var evaluation = new ProxyEvaluator(ProxyRegistry.All).Evaluate(
            () => new MlpSpace().BuildNetwork(genotype, [6], 4, NetworkOptions.Ntk(), seed: 5), x, y, 4, seed: 5);
        foreach (var r in evaluation.Results)
            // meco needs Conv2d maps; AZ-NAS's stages are a chain, which an MLP with skip connections is not.
            if (r.Name is "meco" or "az_expressivity" or "az_progressivity" or "az_trainability") Assert.Equal(ProxyStatus.NotApplicable, r.Score.Status);
            else Assert.True(r.Score.IsFinite, $"{r.Name}: {r.Score}");
    }

    [Fact]
    public void FishersMasksChangeNeitherTheLossGradientsNorNaswotsCodes()
    {
        using var scope = NewDisposeScope();
        // On an MlpNetwork both probes hook the same ScaledLinear (the relu layer's pre-activation is NASWOT's code), and
        // Fisher replaces its output a by a·(1 + m) with m = 0: (1 + 0)·a = a and ∂L/∂a·(1 + 0) = ∂L/∂a exactly, so
        // neither the codes nor ∂L/∂θ may move by a single bit.
        var options = new NetworkOptions { DType = ScalarType.Float64 };
        Func<nn.Module<Tensor, Tensor>> build = () => new MlpSpace().BuildNetwork(MlpGenotype.Parse("w32/relu-tanh+1"), [4], 3, options, seed: 2);
        random.manual_seed(5);
        var x = randn(new long[] { 6, 4 }, dtype: ScalarType.Float64);
        var y = randint(0, 3, new long[] { 6 }, dtype: ScalarType.Int64);

        using var plain = new ProxyContext(build, x, y, 3, 0, SharedComputation.LossGradients, [Codes]);
        using var masked = new ProxyContext(build, x, y, 3, 0, SharedComputation.LossGradients, [Masks, Codes]);
        Assert.True((plain.ReluCodes().Kernel == masked.ReluCodes().Kernel).all().item<bool>());
        var expected = plain.LossGradients().Gradients;
        var actual = masked.LossGradients().Gradients;
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++) Assert.True((expected[i] == actual[i]).all().item<bool>(), $"gradient {i}");
        Assert.Equal(plain.LossGradients().Loss, masked.LossGradients().Loss);

        Assert.Equal(((MlpNetwork)masked.Network).DenseLayers.Count, masked.ActivationGradients().Count);
        var pass = Assert.Single(masked.Stages, s => s.Name.StartsWith("train-mode pass", StringComparison.Ordinal));
        Assert.Equal("train-mode pass (LossGradients, ReluCodes, ActivationGradients)", pass.Name);
    }

    [Fact]
    public void WithoutLabelsThePassLeavesOutProbesThatNeedTheLoss()
    {
        using var scope = NewDisposeScope();
        using var context = new ProxyContext(() => TinyConvNet.Build(2), ProxyNets.Images(2, 4), null, 3, 0,
            SharedComputation.InputGradients, [Masks, Codes]);
        // TinyConvNet's two ReLUs: 4 channels × 8 × 8 and 4 × 8 × 8 units per input.
        Assert.Equal(2 * 4 * 8 * 8, context.ReluCodes().Units);
        context.InputGradients();
        var pass = Assert.Single(context.Stages, s => s.Name.StartsWith("train-mode pass", StringComparison.Ordinal));
        Assert.Equal("train-mode pass (InputGradients, ReluCodes)", pass.Name);
        var error = Assert.Throws<InvalidOperationException>(() => context.ActivationGradients());
        Assert.Contains("labels", error.Message);
    }
}
