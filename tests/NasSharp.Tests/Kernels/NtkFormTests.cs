using NasSharp.Kernels;
using NasSharp.Proxies;
using NasSharp.Tests.Proxies;
using TorchSharp;
using Xunit;
using static NasSharp.Tests.Kernels.TinyNets;
using static TorchSharp.torch;

namespace NasSharp.Tests.Kernels;

[Collection(TorchCollection.Name)]
public class NtkFormTests
{
    [Fact]
    public void TraceNormalisedScoreOfAHandComputedTwoByTwoKernel()
    {
        // Θ = [[2, 1], [1, 2]]: eigenvalues 1 and 3, tr Θ = 4, so λ_min/(tr Θ/2) = 1/2.
        var spectrum = new NtkGram([2, 1, 1, 2], 2).Spectrum();
        Assert.Equal(1.0, NtkForm.Default.Score(spectrum), 1e-14);
        Assert.Equal(0.5, (NtkForm.Default with { TraceNormalized = true }).Score(spectrum), 1e-14);
        // Scale-free: 10Θ has the same normalised score.
        Assert.Equal(0.5, new NtkForm { TraceNormalized = true }.Score(new NtkGram([20, 10, 10, 20], 2).Spectrum()), 1e-14);
    }

    [Fact]
    public void BatchStatisticsKernelIsTheJacobianOfTheBatchFunctionByCentralDifferences()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(11);
        var model = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.Tanh(), nn.Linear(5, 2)).AsFloat64();
        var x = Inputs(seed: 12, n: 6, d: 3);

        var theta = new NtkForm { BatchStatistics = true }.Gram(model, x, seed: 0);
        Assert.True(model.training);
        // Central differences of the batch function in training mode: each perturbation changes the batch statistics too.
        var fd = FiniteDifferenceNtk(model, x, NtkOutput.SumOfLogits, epsilon: 1e-6);
        AssertRelativeFrobenius(theta.ToArray(), fd, 1e-7);

        // The batch statistics couple the samples: the eval-mode (per-sample) kernel differs.
        model.eval();
        Assert.True(RelativeFrobeniusError(EmpiricalNtk.Exact(model, x).ToArray(), fd) > 0.05);
    }

    [Fact]
    public void FrozenBatchStatisticsKernelIsTheEvalKernelWithTheBatchsHandComputedStatistics()
    {
        using var scope = NewDisposeScope();
        nn.Module<Tensor, Tensor> Build()
        {
            random.manual_seed(15);
            return nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.Tanh(), nn.Linear(5, 2)).AsFloat64();
        }
        var x = Inputs(seed: 16, n: 7, d: 3);

        var model = Build();
        var theta = new NtkForm { FrozenBatchStatistics = true }.Gram(model, x, seed: 0);
        var bn = model.modules().OfType<TorchSharp.Modules.BatchNorm1d>().Single();
        Assert.Equal(0.1, bn.momentum!.Value, 1e-15);

        // Reference: the batch's mean and unbiased variance of the first layer's output, written into a fresh copy's
        // running statistics by hand, then central differences of that network in eval mode.
        var reference = Build();
        var first = (TorchSharp.Modules.Linear)reference.children().First();
        var bnRef = reference.modules().OfType<TorchSharp.Modules.BatchNorm1d>().Single();
        using (no_grad())
        {
            var h = x.matmul(first.weight.t()) + first.bias!;
            bnRef.running_mean!.copy_(h.mean([0]));
            bnRef.running_var!.copy_(h.var(0, unbiased: true));
        }
        reference.eval();
        var fd = FiniteDifferenceNtk(reference, x, NtkOutput.SumOfLogits, epsilon: 1e-6);
        AssertRelativeFrobenius(theta.ToArray(), fd, 1e-7);

        // Neither the untouched eval-mode kernel (running statistics 0 and 1) nor the training-mode one (which also
        // differentiates through the statistics).
        var plain = Build();
        plain.eval();
        Assert.True(RelativeFrobeniusError(EmpiricalNtk.Exact(plain, x).ToArray(), fd) > 0.05);
        Assert.True(RelativeFrobeniusError(new NtkForm { BatchStatistics = true }.Gram(Build(), x, 0).ToArray(), fd) > 0.01);
    }

    [Fact]
    public void NtkParameterisationWeightsEachBlockByItsHandComputedFactor()
    {
        using var scope = NewDisposeScope();
        var model = TanhMlp(seed: 13, d: 3, h: 4, k: 2);
        var x = Inputs(seed: 14, n: 5, d: 3);

        var theta = new NtkForm { NtkParameterization = true }.Gram(model, x, seed: 3);
        // σ_w = 1, σ_b = 0.1: W = θ/√fan_in, b = 0.1β, so ∂/∂θ = ∂/∂W/√fan_in and ∂/∂β = 0.1 ∂/∂b (fan-ins 3, 4, 4).
        var factors = new Dictionary<string, double>
        {
            ["0.weight"] = 1.0 / 3, ["0.bias"] = 0.01, ["2.weight"] = 0.25, ["2.bias"] = 0.01, ["4.weight"] = 0.25, ["4.bias"] = 0.01,
        };
        AssertRelativeFrobenius(theta.ToArray(), FiniteDifferenceNtk(model, x, NtkOutput.SumOfLogits, 1e-6, factors), 1e-8);
        // The weights were redrawn from N(0, 1/fan_in): the first layer's 12 entries have a sample variance near 1/3.
        double variance = model.parameters().First().var().item<double>();
        Assert.InRange(variance, 1.0 / 3 / 4, 1.0 / 3 * 4);
    }

    [Fact]
    public void ExactRejectsAFactorForAParameterTheModelDoesNotHave()
    {
        using var scope = NewDisposeScope();
        var model = TanhMlp(seed: 1, d: 2, h: 3, k: 1);
        var e = Assert.Throws<ArgumentException>(() => EmpiricalNtk.Exact(model, Inputs(2, 3, 2), NtkOutput.SumOfLogits,
            new Dictionary<string, double> { ["9.weight"] = 2 }));
        Assert.Contains("9.weight", e.Message);
    }

    [Fact]
    public void ProxyFormsScoreTheirKernelsAndAverageOverSeparatelyBuiltInitialisations()
    {
        using var scope = NewDisposeScope();
        var x = ProxyNets.Images(1, 5);
        const long seed = 21;
        using var context = new ProxyContext(s => TinyConvNet.Build(s), x, null, 3, seed);

        // Per-logit: the (N·K)×(N·K) kernel of per-sample per-logit Jacobians (checked against closed forms and central
        // differences in EmpiricalNtkTests), on a network in eval mode.
        var perLogit = new NtkMinEigenvalueProxy(new NtkForm { Output = NtkOutput.PerLogit }).Score(context).Value;
        using (var model = TinyConvNet.Build(seed))
        {
            model.eval();
            var spectrum = EmpiricalNtk.Exact(model, x, NtkOutput.PerLogit).Spectrum();
            Assert.Equal(15, spectrum.Eigenvalues.Count);
            Assert.Equal(spectrum.LambdaMin, perLogit, 1e-9 * spectrum.LambdaMax);
        }

        // Three initialisations: the first is the context's network, the others are built from derived seeds.
        var lambdas = new[] { seed, Seeds.Derive(seed, "ntk-form-init", 1), Seeds.Derive(seed, "ntk-form-init", 2) }.Select(s =>
        {
            using var model = TinyConvNet.Build(s);
            model.eval();
            return EmpiricalNtk.Exact(model, x).Spectrum();
        }).ToArray();
        Assert.True(Math.Abs(lambdas[0].LambdaMin - lambdas[1].LambdaMin) > 1e-6 * lambdas[0].LambdaMax, "the initialisations differ");
        var mean = new NtkMinEigenvalueProxy(new NtkForm { Initializations = 3 });
        var meanNormalised = new NtkMinEigenvalueProxy(new NtkForm { Initializations = 3, TraceNormalized = true });
        Assert.Equal("ntk_min_eig_init3_tr", meanNormalised.Name);
        Assert.Equal(lambdas.Average(s => s.LambdaMin), mean.Score(context).Value, 1e-9 * lambdas[0].LambdaMax);
        Assert.Equal(lambdas.Average(s => s.LambdaMin / (s.Trace / 5)), meanNormalised.Score(context).Value, 1e-9);
    }

    [Fact]
    public void SeveralInitialisationsNeedASeededFactory()
    {
        using var scope = NewDisposeScope();
        using var context = new ProxyContext(() => TinyConvNet.Build(1), ProxyNets.Images(1, 4), null, 3, 1);
        var e = Assert.Throws<InvalidOperationException>(() => new NtkMinEigenvalueProxy(new NtkForm { Initializations = 2 }).Score(context));
        Assert.Contains("seed", e.Message);
    }
}
