using NasSharp.Data;
using NasSharp.Networks;
using NasSharp.Store;
using NasSharp.Search.Nasi;
using NasSharp.Spaces;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Search.Nasi;

[Collection(TorchCollection.Name)]
public class NasiSearchTests
{
    private static Nb201Supernet TinySupernet(long seed, ScalarType dtype = ScalarType.Float64)
    {
        random.manual_seed(seed);
        return new Nb201Supernet(3, 4, new Nb201NetworkOptions { Channels = 4, CellsPerStage = 1, Affine = false, TrackRunningStats = false }, dtype: dtype);
    }

    /// <summary>A tiny supernet in train mode, one Gumbel draw over its 6 × 5 logits (generator seed + 1) and a batch of four.</summary>
    private static (Nb201Supernet Supernet, Tensor Noise, Tensor X, Tensor Y) GradientFixture(long seed)
    {
        var supernet = TinySupernet(seed);
        supernet.train();
        using var generator = new Generator((ulong)seed + 1);
        var noise = GumbelSoftmax.Noise([6, 5], generator);
        return (supernet, noise, randn(new long[] { 4, 3, 8, 8 }, dtype: ScalarType.Float64), tensor(new long[] { 0, 1, 2, 3 }));
    }

    [Fact]
    public void TheApproximationIsTheSquaredNormOfTheMeanPerSampleGradientAndBoundedByTheirMeanSquaredNorm()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        // No batch norm: per-sample losses are then independent, so the per-sample path is an exact reference.
        var model = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3)).to(ScalarType.Float64);
        var x = randn(new long[] { 6, 5 }, dtype: ScalarType.Float64);
        var y = tensor(new long[] { 0, 1, 2, 0, 1, 2 });
        double approx = TraceNorm.Approximation(model, x, y, createGraph: false).item<double>();

        var parameters = model.parameters().ToArray();
        var mean = parameters.Select(p => zeros_like(p)).ToArray();
        for (int i = 0; i < 6; i++)
        {
            var g = autograd.grad([nn.functional.cross_entropy(model.call(x.narrow(0, i, 1)), y.narrow(0, i, 1))], parameters);
            for (int k = 0; k < g.Count; k++) mean[k] += g[k] / 6.0;
        }
        double expected = mean.Sum(m => m.pow(2).sum().item<double>());
        Assert.Equal(expected, approx, 1e-12 * expected);
        // Cauchy–Schwarz: ‖b⁻¹ Σ g_x‖² ≤ b⁻¹ Σ ‖g_x‖², strictly unless all g_x are equal.
        double exact = TraceNorm.PerSampleSum(model, x, y);
        Assert.True(approx < exact / 6, $"{approx} vs {exact / 6}");
    }

    [Fact]
    public void TheArchitectureGradientMatchesCentralDifferences()
    {
        using var scope = NewDisposeScope();
        var (supernet, noise, x, y) = GradientFixture(11);
        using var _ = supernet;
        const double mu = 2, nu = 1e-3;   // ν small enough that the penalty is active: both branches of Eq. 14 in play

        Tensor Objective(Tensor alpha, bool createGraph)
        {
            supernet.SetMixingWeights([GumbelSoftmax.Weights(alpha, noise, 1.0)]);
            var trace = TraceNorm.Approximation(supernet, x, y, createGraph);
            return trace - mu * nn.functional.relu(trace - nu);
        }

        var alpha0 = (0.1 * randn(new long[] { 6, 5 }, dtype: ScalarType.Float64)).requires_grad_(true);
        var g = autograd.grad([Objective(alpha0, createGraph: true)], [alpha0])[0];
        Assert.True(g.abs().max().item<double>() > 0);
        const double h = 1e-5;
        foreach (var (e, o) in new[] { (0, 1), (2, 3), (5, 2), (4, 0), (1, 4) })
        {
            double F(double shift)
            {
                using var s = NewDisposeScope();
                var a = alpha0.detach().clone();
                a[e, o] = a[e, o] + shift;
                return Objective(a, createGraph: false).item<double>();
            }
            double numeric = (F(h) - F(-h)) / (2 * h);
            double analytic = g[e, o].item<double>();
            Assert.True(Math.Abs(numeric - analytic) <= 1e-6 * Math.Max(1e-3, Math.Abs(numeric)) + 1e-9,
                $"edge {e}, op {o}: autograd {analytic}, central difference {numeric}");
        }
    }

    [Fact]
    public void NonesGradientIsTheEdgesScaleDerivative()
    {
        // none outputs zero, so ∂R/∂w_none = 0 and the softmax's Jacobian leaves G_none = −(w_none/τ) Σ_o w_o ∂R/∂w_o,
        // the derivative of R along scaling the whole edge. None's logit measures the edge's size, not its operation:
        // the reason DARTS (and our NB201 derivation) leave none out of the argmax.
        using var scope = NewDisposeScope();
        var (supernet, noise, x, y) = GradientFixture(21);
        using var _ = supernet;
        const double tau = 10;
        var alpha0 = (0.3 * randn(new long[] { 6, 5 }, dtype: ScalarType.Float64)).requires_grad_(true);
        var w = GumbelSoftmax.Weights(alpha0, noise, tau);
        supernet.SetMixingWeights([w]);
        var g = autograd.grad([TraceNorm.Approximation(supernet, x, y, createGraph: true)], [alpha0])[0];
        var w0 = w.detach().clone();
        int none = (int)Nb201Operation.None;
        const double h = 1e-5;
        for (int e = 0; e < 6; e++)
        {
            double R(double s)
            {
                using var sc = NewDisposeScope();
                var scaled = w0.clone();
                scaled[e] = scaled[e] * s;
                supernet.SetMixingWeights([scaled]);
                return TraceNorm.Approximation(supernet, x, y, createGraph: false).item<double>();
            }
            double scaleDerivative = (R(1 + h) - R(1 - h)) / (2 * h);
            double expected = -w0[e, none].item<double>() / tau * scaleDerivative;
            double actual = g[e, none].item<double>();
            Assert.True(Math.Abs(expected) > 1e-8, $"edge {e}: the scale derivative vanishes, nothing is compared");
            Assert.True(Math.Abs(actual - expected) <= 1e-6 * Math.Max(1e-6, Math.Abs(expected)) + 1e-10, $"edge {e}: G_none {actual}, −(w_none/τ)·dR/ds {expected}");
        }
    }

    [Fact]
    public void DeriveTakesTheLargestLogitOtherThanNonePerEdge()
    {
        using var scope = NewDisposeScope();
        using var supernet = TinySupernet(1);
        var logits = new double[6, 5];
        var planted = new[] { 3, 0, 2, 1, 4, 3 };
        for (int e = 0; e < 6; e++) logits[e, planted[e]] = 1 + e;
        logits[1, (int)Nb201Operation.NorConv1x1] = 0.5;   // edge 1 leads with none; its runner-up is conv 1×1
        var relaxation = new Nb201Space().Relaxation;
        var genotype = (Nb201Genotype)relaxation.Derive([logits]);
        Assert.Equal(planted.Select(o => o == 0 ? Nb201Operation.NorConv1x1 : (Nb201Operation)o), genotype.Operations);
        Assert.Equal(Nb201Relaxation.WithoutNone, relaxation.Derivations[0]);
        Assert.Throws<ArgumentException>(() => relaxation.Derive([new double[6, 4]]));
        Assert.Throws<ArgumentException>(() => supernet.SetMixingWeights([zeros(6, 4)]));
    }

    [Fact]
    public void DerivingWithoutNoneTakesTheRunnerUpWhereNoneLeads()
    {
        // Edge 1 plants none first and avg_pool second; edge 4 plants a tie between skip and conv 3×3 below none.
        var logits = new double[6, 5];
        var planted = new[] { 3, 0, 2, 1, 4, 3 };
        for (int e = 0; e < 6; e++) logits[e, planted[e]] = 1 + e;
        logits[1, (int)Nb201Operation.AvgPool3x3] = 1.5;
        logits[4, (int)Nb201Operation.None] = 9;
        logits[4, (int)Nb201Operation.SkipConnect] = 7;
        logits[4, (int)Nb201Operation.NorConv3x3] = 7;
        logits[4, (int)Nb201Operation.AvgPool3x3] = -1;
        Assert.Equal(
            [Nb201Operation.NorConv3x3, Nb201Operation.None, Nb201Operation.NorConv1x1, Nb201Operation.SkipConnect, Nb201Operation.None, Nb201Operation.NorConv3x3],
            Nb201Genotype.Derive(logits, excludeNone: false).Operations.ToArray());
        Assert.Equal(
            [Nb201Operation.NorConv3x3, Nb201Operation.AvgPool3x3, Nb201Operation.NorConv1x1, Nb201Operation.SkipConnect, Nb201Operation.SkipConnect, Nb201Operation.NorConv3x3],
            Nb201Genotype.Derive(logits, excludeNone: true).Operations.ToArray());
        // All-zero logits: the lowest index, none, or skip_connect without it.
        Assert.All(Nb201Genotype.Derive(new double[6, 5], excludeNone: true).Operations, o => Assert.Equal(Nb201Operation.SkipConnect, o));
        Assert.Throws<ArgumentException>(() => Nb201Genotype.Derive(new double[5, 5], excludeNone: true));
    }

    [Fact]
    public void ASearchIsReproducibleFromItsSeedAndReportsEveryStep()
    {
        using var scope = NewDisposeScope();
        var options = new NasiOptions { Steps = 3, BatchSize = 4 };
        NasiResult Run()
        {
            using var s = NewDisposeScope();
            using var supernet = TinySupernet(5, ScalarType.Float32);
            var source = GaussianBatches();
            return NasiSearch.Run(supernet, t => source.Step(t, 4, 9), options, seed: 9);
        }
        var a = Run();
        var b = Run();
        Assert.Equal(Nb201Genotype.Derive(a.Logits[0], excludeNone: true), Nb201Genotype.Derive(b.Logits[0], excludeNone: true));
        Assert.Equal(3, a.Steps.Count);
        Assert.Equal(a.Steps.Select(s => s.TraceNorm), b.Steps.Select(s => s.TraceNorm));
        Assert.All(a.Steps, s => Assert.True(s.TraceNorm > 0 && s.GradientNorm > 0));
        // Δ* is a sum of T vectors of norm ≤ 1 each, times ξ/T: its norm is at most ξ.
        double norm = Math.Sqrt(a.Logits[0].Cast<double>().Sum(v => v * v));
        Assert.InRange(norm, 1e-9, 1.0 + 1e-12);
        for (int e = 0; e < 6; e++)
            Assert.Equal(1.0, Enumerable.Range(0, 5).Sum(o => a.Probabilities[0][e, o]), 1e-12);
    }

    [Fact]
    public void TheNtkParameterisationIsTheSupernetsAndTheOptionsTogether()
    {
        using var scope = NewDisposeScope();
        var standard = new NasiOptions { Steps = 1, BatchSize = 4 };
        var ntk = standard with { Parameterization = Parameterization.Ntk };
        var source = GaussianBatches();
        (Tensor, Tensor) Batch(int t) => source.Step(t, 4, 9);
        using var plain = TinySupernet(5, ScalarType.Float32);
        using var reparameterised = TinySupernet(5, ScalarType.Float32);
        reparameterised.UseNtkParameterization();
        Assert.Throws<ArgumentException>(() => NasiSearch.Run(plain, Batch, ntk, seed: 9));
        Assert.Throws<ArgumentException>(() => NasiSearch.Run(reparameterised, Batch, standard, seed: 9));
        // The step's trace norm is the one of the NTK parameters: the stored weights' squared gradients times their factors.
        var step = NasiSearch.Run(reparameterised, Batch, ntk, seed: 9).Steps[0];
        var (x, y) = Batch(0);
        using var generator = new Generator((ulong)Seeds.Derive(9, "nasi-gumbel", 0));
        reparameterised.SetMixingWeights([GumbelSoftmax.Weights(zeros(6, 5), GumbelSoftmax.Noise([6, 5], generator), ntk.Temperature)]);
        double expected = TraceNorm.Approximation(reparameterised, x, y, createGraph: false, reparameterised.GradientFactors).item<float>();
        Assert.Equal(expected, step.TraceNorm, 1e-4 * expected);
        Assert.NotEqual(expected, TraceNorm.Approximation(reparameterised, x, y, createGraph: false).item<float>(), 1e-3 * expected);
    }

    /// <summary>Gaussian inputs of 3×8×8 and random labels of 4 classes: batches that need no dataset.</summary>
    private static BatchSource GaussianBatches() => new(null, [3, 8, 8], 4, InputKind.Gaussian, LabelKind.Random);

    [Fact]
    public void AnInterruptedSearchResumesFromItsStoredStepsWithTheSameResult()
    {
        using var scope = NewDisposeScope();
        var options = new NasiOptions { Steps = 4, BatchSize = 4, AdaptiveNu = true, Nu = 500 };
        var source = GaussianBatches();
        var full = new MemoryJournal();
        NasiResult reference;
        using (var supernet = TinySupernet(7, ScalarType.Float32)) reference = NasiSearch.Run(supernet, t => source.Step(t, 4, 21), options, 21, journal: full);
        Assert.Equal(4, full.All<NasiStepRecord>("step/").Count);

        // Steps 1–2 survived an interruption (through the store's JSON, as a stored run keeps them); a batch request for
        // them would mean they were recomputed.
        var partial = new MemoryJournal();
        foreach (var step in new[] { 1, 2 })
            partial.Record($"step/{step}", full.TryFind<NasiStepRecord>($"step/{step}", out var r) ? r : throw new InvalidOperationException());
        NasiResult resumed;
        using (var supernet = TinySupernet(7, ScalarType.Float32))
            resumed = NasiSearch.Run(supernet, t => t < 2 ? throw new InvalidOperationException($"step {t + 1} recomputed") : source.Step(t, 4, 21), options, 21, journal: partial);
        Assert.Equal(reference.Steps, resumed.Steps);
        Assert.Equal(reference.Logits[0].Cast<double>(), resumed.Logits[0].Cast<double>());
        Assert.Equal(4, partial.All<NasiStepRecord>("step/").Count);
    }
}
