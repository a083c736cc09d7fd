using NasSharp.Kernels;
using NasSharp.Proxies;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Proxies;

[Collection(TorchCollection.Name)]
public class NtkProxyTests
{
    [Fact]
    public void NtkConditionAndMinimumEigenvalueMatchTheEmpiricalNtkOfTheNetworkInEvalMode()
    {
        using var scope = NewDisposeScope();
        var x = ProxyNets.Images(1, 5);
        var model = TinyConvNet.Build(7);
        model.eval();
        var spectrum = EmpiricalNtk.Exact(model, x).Spectrum();

        using var context = ProxyNets.Context(() => TinyConvNet.Build(7), x, null, 3);
        var cond = new NtkConditionProxy().Score(context);
        var minEig = new NtkMinEigenvalueProxy().Score(context);
        // The proxies take the fast structured kernel (NtkMethod.Auto); the exact per-sample path agrees to rounding.
        Assert.Equal(-spectrum.Condition, cond.Value, 1e-9 * spectrum.Condition);
        Assert.Equal(spectrum.LambdaMin, minEig.Value, 1e-9 * Math.Abs(spectrum.LambdaMax));
        Assert.True(context.Network.training, "the network's mode is restored");
    }

    [Fact]
    public void ASingularNtkGivesMinusInfinityWithAReason()
    {
        using var scope = NewDisposeScope();
        // f(x) = W2 relu(W1 x) with W1 = W2 = 0: every gradient is zero, so Θ = 0 exactly and κ = ∞.
        Func<nn.Module<Tensor, Tensor>> build = () =>
        {
            var net = nn.Sequential(nn.Linear(3, 4, hasBias: false), nn.ReLU(), nn.Linear(4, 2, hasBias: false)).to(ScalarType.Float64);
            using (no_grad()) foreach (var p in net.parameters()) p.zero_();
            return net;
        };
        var x = randn(new long[] { 3, 3 }, dtype: ScalarType.Float64);
        var cond = ProxyNets.ScoreAlone(new NtkConditionProxy(), build, x, null, 2);
        Assert.Equal(ProxyStatus.NonFinite, cond.Status);
        Assert.Equal(double.NegativeInfinity, cond.Value);
        Assert.Contains("singular", cond.Reason);
        Assert.Equal(0.0, ProxyNets.ScoreAlone(new NtkMinEigenvalueProxy(), build, x, null, 2).Value);
    }

    [Fact]
    public void ATrainModePassLeavesTheBatchNormBuffersAsTheyWere()
    {
        using var scope = NewDisposeScope();
        var x = ProxyNets.Images(3, 6);
        var y = ProxyNets.Labels(4, 6, 3);
        double fresh = ProxyNets.ScoreAlone(new NtkMinEigenvalueProxy(), () => TinyConvNet.Build(9), x, y, 3).Value;

        using var context = ProxyNets.Context(() => TinyConvNet.Build(9), x, y, 3);
        var buffers = context.Network.buffers().Select(b => b.clone()).ToArray();
        context.LossGradients();
        var after = context.Network.buffers().ToArray();
        for (int i = 0; i < buffers.Length; i++) Assert.True((buffers[i] == after[i]).all().item<bool>());
        Assert.Equal(fresh, new NtkMinEigenvalueProxy().Score(context).Value);
    }
    [Fact]
    public void NtkComplexityIsNOverTheLabelsQuadraticFormOfTheTraceNormalisedKernel()
    {
        // Reference: Θ from the exact per-sample kernel in eval mode, divided by tr Θ/N, and tr(YᵀΘ̃⁻¹Y) by a linear solve
        // (not the eigendecomposition the proxy uses).
        using var scope = NewDisposeScope();
        var x = ProxyNets.Images(1, 5);
        var y = ProxyNets.Labels(2, 5, 3);
        var model = TinyConvNet.Build(7);
        model.eval();
        var theta = tensor(EmpiricalNtk.Exact(model, x).ToArray(), new long[] { 5, 5 }, dtype: ScalarType.Float64);
        var normalised = theta / (theta.trace() / 5);
        var onehot = nn.functional.one_hot(y.to_type(ScalarType.Int64), 3).to_type(ScalarType.Float64);
        double expected = 5 / onehot.t().mm(linalg.solve(normalised, onehot)).trace().item<double>();

        var proxy = new NtkComplexityProxy(new NtkForm { TraceNormalized = true });
        Assert.Equal("ntk_complexity_tr", proxy.Name);
        var score = ProxyNets.ScoreAlone(proxy, () => TinyConvNet.Build(7), x, y, 3);
        Assert.Equal(expected, score.Value, 1e-8 * expected);
        // ‖Y‖_F² = N, so the score is at least the normalised λ_min.
        double lambdaMin = ProxyNets.ScoreAlone(new NtkMinEigenvalueProxy(new NtkForm { TraceNormalized = true }), () => TinyConvNet.Build(7), x, y, 3).Value;
        Assert.True(score.Value >= lambdaMin);
    }
    [Fact]
    public void EveryNtkFormVariantIsKnownByTheNameItsFormSpells()
    {
        // The names a user passes to --proxies: one per variant, each resolving to a proxy of that name and form.
        Assert.Equal(ProxyRegistry.VariantNames.Count, ProxyRegistry.VariantNames.Distinct().Count());
        Assert.All(ProxyRegistry.VariantNames, name => Assert.Equal(name, ProxyRegistry.Get(name).Name));
        var held = new NtkForm { FrozenBatchStatistics = true, TraceNormalized = true };
        foreach (var (name, form) in new[]
        {
            ("ntk_min_eig_bnfix_tr", held),
            ("ntk_min_eig_bn_tr", new NtkForm { BatchStatistics = true, TraceNormalized = true }),
            ("ntk_min_eig_bnfix_ntkp_tr", held with { NtkParameterization = true }),
            ("ntk_min_eig_logit_bnfix_tr", held with { Output = NtkOutput.PerLogit }),
            ("ntk_min_eig_bnfix_init3_tr", held with { Initializations = 3 }),
        })
            Assert.Equal(form, Assert.IsType<NtkMinEigenvalueProxy>(ProxyRegistry.Get(name)).Form);
        Assert.Equal(held, Assert.IsType<NtkComplexityProxy>(ProxyRegistry.Get("ntk_complexity_bnfix_tr")).Form);
    }
}
