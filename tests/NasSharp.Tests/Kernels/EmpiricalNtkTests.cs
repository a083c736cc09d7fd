using NasSharp.Kernels;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static NasSharp.Tests.Kernels.TinyNets;
using static TorchSharp.torch;

namespace NasSharp.Tests.Kernels;

public class EmpiricalNtkTests
{
    [Fact]
    public void SumOfLogitsMatchesTwoLayerClosedForm()
    {
        using var scope = NewDisposeScope();
        var model = TwoLayerTanh(seed: 1, d: 4, h: 7, k: 1);
        var x = Inputs(seed: 2, n: 5, d: 4);
        var p = model.parameters().ToArray();

        var expected = TwoLayerClosedForm(ToMatrix(p[0]), ToMatrix(p[1]), ToMatrix(x), sumOfLogits: true);
        var theta = EmpiricalNtk.Exact(model, x);

        Assert.Equal(5, theta.Size);
        // Both sides are float64 sums of ~30 terms of order 1: agreement to a few ulps, 1e-10 leaves ample room.
        AssertRelativeFrobenius(theta.ToArray(), expected, 1e-10);
    }

    [Fact]
    public void PerLogitMatchesTwoLayerClosedFormIncludingCrossLogitBlocks()
    {
        using var scope = NewDisposeScope();
        var model = TwoLayerTanh(seed: 3, d: 3, h: 6, k: 3);
        var x = Inputs(seed: 4, n: 4, d: 3);
        var p = model.parameters().ToArray();
        var w = ToMatrix(p[0]);
        var v = ToMatrix(p[1]);

        var perLogit = EmpiricalNtk.Exact(model, x, NtkOutput.PerLogit);
        var sum = EmpiricalNtk.Exact(model, x, NtkOutput.SumOfLogits);

        AssertRelativeFrobenius(perLogit.ToArray(), TwoLayerClosedForm(w, v, ToMatrix(x), sumOfLogits: false), 1e-10);
        AssertRelativeFrobenius(sum.ToArray(), TwoLayerClosedForm(w, v, ToMatrix(x), sumOfLogits: true), 1e-10);
    }

    [Fact]
    public void SumOfLogitsMatchesCentralFiniteDifferencesOnTanhNet()
    {
        using var scope = NewDisposeScope();
        var model = TanhMlp(seed: 5, d: 3, h: 5, k: 2);
        var x = Inputs(seed: 6, n: 6, d: 3);

        var theta = EmpiricalNtk.Exact(model, x);
        // ε = 1e-6: truncation ε²·|f'''|/6 ≈ 1e-13 and rounding u·|f|/ε ≈ 1e-10 per entry of J, so Θ agrees to ~1e-10.
        var fd = FiniteDifferenceNtk(model, x, NtkOutput.SumOfLogits, epsilon: 1e-6);

        AssertRelativeFrobenius(theta.ToArray(), fd, 1e-8);
    }

    [Fact]
    public void PerLogitMatchesCentralFiniteDifferencesOnReluNet()
    {
        using var scope = NewDisposeScope();
        var model = ReluMlp(seed: 7, d: 4, h: 6, k: 3);
        var x = Inputs(seed: 8, n: 5, d: 4);

        var theta = EmpiricalNtk.Exact(model, x, NtkOutput.PerLogit);
        // Piecewise linear: central differences have no truncation error unless a pre-activation (|z| ~ 0.1–1 here)
        // is within ε of zero, so only rounding (~1e-10) remains.
        var fd = FiniteDifferenceNtk(model, x, NtkOutput.PerLogit, epsilon: 1e-6);

        Assert.Equal(15, theta.Size);
        AssertRelativeFrobenius(theta.ToArray(), fd, 1e-8);
    }

    [Fact]
    public void MatchesJacobianOfTheNetworkWrittenAsAFunctionOfItsParameters()
    {
        using var scope = NewDisposeScope();
        var model = TanhMlp(seed: 9, d: 3, h: 4, k: 2);
        var x = Inputs(seed: 10, n: 5, d: 3);
        var parameters = model.parameters().Select(p => p.detach().clone()).ToArray();

        // The same network, re-expressed as F(θ) so torch.autograd.functional.jacobian differentiates it with
        // respect to its inputs: an independent route to J that never touches the module's parameters.
        Tensor[] F(Tensor[] p)
        {
            var h1 = tanh(x.matmul(p[0].t()) + p[1]);
            var h2 = tanh(h1.matmul(p[2].t()) + p[3]);
            return new[] { (h2.matmul(p[4].t()) + p[5]).sum(1) };
        }
        var j = cat(autograd.functional.jacobian(F, parameters).Select(b => b.reshape(5, -1)).ToArray(), 1);
        var expected = j.mm(j.t()).data<double>().ToArray();

        var theta = EmpiricalNtk.Exact(model, x);

        AssertRelativeFrobenius(theta.ToArray(), expected, 1e-12);
    }

    [Fact]
    public void PerLogitBlocksSumToTheSumOfLogitsGram()
    {
        using var scope = NewDisposeScope();
        // 240 per-logit rows: Θ is accumulated over chunks of 2^20 / 240 = 4369 columns, so the 16×512 and 512×10
        // weights each span two chunks, while the 24-row sum-of-logits Gram takes every parameter in one chunk.
        const int n = 24, k = 10;
        var model = TwoLayerTanh(seed: 11, d: 16, h: 512, k: k);
        var x = Inputs(seed: 12, n: n, d: 16);

        var perLogit = EmpiricalNtk.Exact(model, x, NtkOutput.PerLogit);
        var sum = EmpiricalNtk.Exact(model, x, NtkOutput.SumOfLogits);

        Assert.Equal(n * k, perLogit.Size);
        Assert.Equal(n, perLogit.SampleCount);
        Assert.Equal(k, perLogit.LogitsPerSample);
        Assert.Equal(n, sum.Size);
        Assert.Equal(1, sum.LogitsPerSample);
        // ∇Σ_k f_k = Σ_k ∇f_k, so Σ_{k,k'} Θ_(n,k),(m,k') = Θ^sum_nm exactly; the two sides round differently (~1e-16).
        for (int a = 0; a < n; a++)
            for (int b = 0; b < n; b++)
            {
                double blockSum = 0;
                for (int ka = 0; ka < k; ka++)
                    for (int kb = 0; kb < k; kb++)
                        blockSum += perLogit[a * k + ka, b * k + kb];
                Assert.Equal(sum[a, b], blockSum, 1e-12 * Math.Abs(sum[a, b]) + 1e-14);
            }
    }

    [Fact]
    public void GramIsExactlySymmetric()
    {
        using var scope = NewDisposeScope();
        var theta = EmpiricalNtk.Exact(TanhMlp(seed: 13, d: 3, h: 8, k: 4), Inputs(seed: 14, n: 7, d: 3), NtkOutput.PerLogit);

        for (int i = 0; i < theta.Size; i++)
            for (int j = 0; j < theta.Size; j++)
                Assert.Equal(theta[i, j], theta[j, i]);
    }

    [Fact]
    public void Float32ModelAgreesWithItsFloat64Copy()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(15);
        var model32 = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3));
        random.manual_seed(15);
        var model64 = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3)).AsFloat64();
        var x32 = Inputs(seed: 16, n: 8, d: 6, ScalarType.Float32);
        var x64 = x32.to_type(ScalarType.Float64);

        var theta32 = EmpiricalNtk.Exact(model32, x32);
        var theta64 = EmpiricalNtk.Exact(model64, x64);

        // Same weights and inputs (float32 → float64 is exact); only float32 rounding in the forward and backward
        // passes differs, u = 6e-8 amplified by a few layers (observed ~2e-8).
        AssertRelativeFrobenius(theta32.ToArray(), theta64.ToArray(), 1e-6);
    }

    [Fact]
    public void UnusedParametersContributeNothing()
    {
        using var scope = NewDisposeScope();
        var inner = TanhMlp(seed: 17, d: 3, h: 4, k: 2);
        var x = Inputs(seed: 18, n: 4, d: 3);

        var withUnused = EmpiricalNtk.Exact(new WithUnusedParameter(inner), x);
        var plain = EmpiricalNtk.Exact(inner, x);

        Assert.Equal(plain.ToArray(), withUnused.ToArray());
    }

    [Fact]
    public void NanWeightsGiveANonFiniteSpectrumWithAReason()
    {
        using var scope = NewDisposeScope();
        var model = TanhMlp(seed: 19, d: 3, h: 4, k: 2);
        using (no_grad()) model.parameters().First().fill_(double.NaN);

        var spectrum = EmpiricalNtk.Exact(model, Inputs(seed: 20, n: 3, d: 3)).Spectrum();

        Assert.False(spectrum.IsFinite);
        Assert.Equal("Θ has 9 NaN entries", spectrum.NonFiniteReason);
        Assert.True(double.IsNaN(spectrum.LambdaMin));
        Assert.True(double.IsNaN(spectrum.Trace));
    }

    [Fact]
    public void RejectsInputsWithoutABatchDimension()
    {
        using var scope = NewDisposeScope();
        var model = TanhMlp(seed: 21, d: 3, h: 4, k: 2);
        Assert.Throws<ArgumentException>(() => EmpiricalNtk.Exact(model, tensor(1.0)));
        Assert.Throws<ArgumentException>(() => EmpiricalNtk.Exact(model, zeros(0, 3, dtype: ScalarType.Float64)));
    }

    [Fact]
    public void RejectsInputsOfAnotherDtype()
    {
        using var scope = NewDisposeScope();
        var model = TanhMlp(seed: 22, d: 3, h: 4, k: 2);
        var ex = Assert.Throws<ArgumentException>(() => EmpiricalNtk.Exact(model, Inputs(seed: 23, n: 2, d: 3, ScalarType.Float32)));
        Assert.Contains("Float64", ex.Message);
    }

    [Fact]
    public void RejectsModelsWhoseOutputIsNotNByK()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(24);
        var model = nn.Sequential(nn.Linear(3, 1), nn.Flatten(start_dim: 0)).AsFloat64();
        var ex = Assert.Throws<ArgumentException>(() => EmpiricalNtk.Exact(model, Inputs(seed: 25, n: 2, d: 3)));
        Assert.Contains("[N, K]", ex.Message);
    }

    [Fact]
    public void RejectsModelsWithoutTrainableParametersOrWithADetachedOutput()
    {
        using var scope = NewDisposeScope();
        var x = Inputs(seed: 26, n: 2, d: 3);
        var frozen = TanhMlp(seed: 27, d: 3, h: 4, k: 2);
        foreach (var p in frozen.parameters()) p.requires_grad = false;
        Assert.Throws<ArgumentException>(() => EmpiricalNtk.Exact(frozen, x));

        var detached = Assert.Throws<ArgumentException>(() => EmpiricalNtk.Exact(new Detached(TanhMlp(seed: 28, d: 3, h: 4, k: 2)), x));
        Assert.Contains("does not require grad", detached.Message);
    }

    private sealed class Detached : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> inner;

        public Detached(nn.Module<Tensor, Tensor> inner) : base(nameof(Detached))
        {
            this.inner = inner;
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => inner.call(input).detach();
    }

    private sealed class WithUnusedParameter : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> inner;
        private readonly Parameter unused;

        public WithUnusedParameter(nn.Module<Tensor, Tensor> inner) : base(nameof(WithUnusedParameter))
        {
            this.inner = inner;
            unused = nn.Parameter(ones(3, dtype: ScalarType.Float64));
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => inner.call(input);
    }
}
