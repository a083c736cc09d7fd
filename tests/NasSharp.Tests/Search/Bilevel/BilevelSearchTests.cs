using NasSharp.Networks;
using NasSharp.Search;
using NasSharp.Search.Bilevel;
using NasSharp.Spaces;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Search.Bilevel;

[Collection(TorchCollection.Name)]
public class BilevelSearchTests
{
    private static readonly NetworkOptions Float64 = new() { DType = ScalarType.Float64 };

    /// <summary>A tiny relaxed mlp (2 layers of width 5 over three activations), α, and a train and a validation batch.</summary>
    private static (MlpSupernet Supernet, Tensor[] Alpha, Parameter[] Weights, (Tensor, Tensor) Train, (Tensor, Tensor) Val) Fixture()
    {
        var space = new MlpSpace(depth: 2, width: 5, choices: [Activation.Tanh, Activation.Swish, Activation.Sigmoid], relaxedSkips: MlpSkipPattern.Residual);
        var supernet = ((MlpRelaxation)space.Relaxation).BuildSupernet([4], 3, Float64, seed: 2);
        random.manual_seed(3);
        var alpha = new[] { (0.5 * randn(new long[] { 2, 3 }, dtype: ScalarType.Float64)).requires_grad_(true) };
        var train = (randn(new long[] { 8, 4 }, dtype: ScalarType.Float64), tensor(new long[] { 0, 1, 2, 0, 1, 2, 0, 1 }));
        var val = (randn(new long[] { 6, 4 }, dtype: ScalarType.Float64), tensor(new long[] { 2, 2, 1, 0, 1, 0 }));
        return (supernet, alpha, supernet.parameters().ToArray(), train, val);
    }

    [Fact]
    public void TheFiniteDifferenceHessianVectorProductMatchesTheExactDoubleBackward()
    {
        using var scope = NewDisposeScope();
        var (supernet, alpha, weights, train, _) = Fixture();
        using var _ = supernet;
        random.manual_seed(4);
        var v = weights.Select(w => randn_like(w)).ToArray();

        // Exact: ∇_α ⟨∇_w L(w, α), v⟩ by double backward (retain_graph with create_graph: TorchSharp does not imply it).
        var gradW = autograd.grad([BilevelSearch.Loss(supernet, alpha, train, detachAlpha: false)], weights, retain_graph: true, create_graph: true);
        var dot = gradW.Select((g, k) => (g * v[k]).sum()).Aggregate((a, b) => a + b);
        var exact = autograd.grad([dot], alpha)[0];

        var before = weights.Select(w => w.detach().clone()).ToArray();
        var approx = BilevelSearch.MixedHessianVectorProduct(supernet, alpha, weights, train, v)[0];
        // Central differences with ε‖v‖ = 0.01 err by O(ε²)·(third derivative): relative 1e-4 on this smooth net.
        double error = (approx - exact).norm().item<double>() / exact.norm().item<double>();
        Assert.True(error < 1e-4, $"relative error {error}");
        Assert.True(exact.norm().item<double>() > 1e-3);
        Assert.All(weights.Select((w, k) => (w, k)), x => Assert.True((x.w.detach() - before[x.k]).abs().max().item<double>() == 0));
    }

    [Fact]
    public void TheSecondOrderHypergradientIsTheGradientOfTheUnrolledValidationLoss()
    {
        using var scope = NewDisposeScope();
        var (supernet, alpha, weights, train, val) = Fixture();
        using var _ = supernet;
        const double xi = 0.3;
        var hypergradient = BilevelSearch.SecondOrder(supernet, alpha, weights, train, val, xi)[0];

        // J(α) = L_val(w − ξ ∇_w L_train(w, α), α), differentiated by central differences in α.
        var w0 = weights.Select(w => w.detach().clone()).ToArray();
        double J(Tensor a)
        {
            using var s = NewDisposeScope();
            var g = autograd.grad([BilevelSearch.Loss(supernet, [a], train, detachAlpha: false)], weights);
            using (no_grad()) for (int k = 0; k < weights.Length; k++) weights[k].sub_(xi * g[k]);
            double value;
            using (no_grad()) value = BilevelSearch.Loss(supernet, [a], val, detachAlpha: true).item<double>();
            using (no_grad()) for (int k = 0; k < weights.Length; k++) weights[k].copy_(w0[k]);
            return value;
        }
        // The Hessian-vector product inside is itself a finite difference (relative error ~1e-4 of its term).
        AssertCentralDifferences(J, alpha[0], hypergradient, h: 1e-6, relative: 1e-4, absolute: 1e-7);
    }

    /// <summary>
    /// Every entry of <paramref name="analytic"/> against the central difference of <paramref name="f"/> at
    /// <paramref name="at"/> with step <paramref name="h"/>: |numeric − analytic| &lt; relative·max(1e-2, |numeric|) + absolute.
    /// </summary>
    private static void AssertCentralDifferences(Func<Tensor, double> f, Tensor at, Tensor analytic, double h, double relative, double absolute)
    {
        for (int e = 0; e < at.shape[0]; e++)
            for (int o = 0; o < at.shape[1]; o++)
            {
                var plus = at.detach().clone(); plus[e, o] = plus[e, o] + h;
                var minus = at.detach().clone(); minus[e, o] = minus[e, o] - h;
                double numeric = (f(plus) - f(minus)) / (2 * h);
                double value = analytic[e, o].item<double>();
                Assert.True(Math.Abs(numeric - value) < relative * Math.Max(1e-2, Math.Abs(numeric)) + absolute, $"α[{e},{o}]: {value} vs {numeric}");
            }
    }

    [Fact]
    public void TheFirstAlphaStepIsAdamsSignStepOfTheValidationHypergradient()
    {
        using var scope = NewDisposeScope();
        var (supernet, _, _, train, val) = Fixture();
        using var _ = supernet;
        // No weight step: the hypergradient is at the initial weights and α = 0.
        var zero = new[] { zeros(new long[] { 2, 3 }, dtype: ScalarType.Float64).requires_grad_(true) };
        var g = autograd.grad([BilevelSearch.Loss(supernet, zero, val, detachAlpha: false)], zero)[0];
        const double lr = 0.05;
        var logits = BilevelSearch.Run(supernet, train, val, new BilevelOptions { Steps = 1, InnerSteps = 0, AlphaLr = lr }).Logits[0];
        // Adam's first bias-corrected step is lr·g/(|g| + 1e-8) (Kingma & Ba, Algorithm 1 with t = 1).
        for (int e = 0; e < 2; e++)
            for (int o = 0; o < 3; o++)
            {
                double ge = g[e, o].item<double>();
                Assert.True(Math.Abs(ge) > 1e-6, $"α[{e},{o}]: gradient {ge} too small to test the sign step");
                Assert.Equal(-lr * ge / (Math.Abs(ge) + 1e-8), logits[e, o], 1e-12);
            }
    }

    [Fact]
    public void WarmupStepsAreTheWeightStepsOfTheFirstOuterStepTakenAtUniformAlpha()
    {
        // Reference: with no warm-up, the first outer step's inner steps are also taken at α = 0 (uniform), before α moves.
        // So W warm-up steps then outer steps of no inner step equal W inner steps in the first outer step, here for one
        // outer step; weights and logits to the bit. Ignoring the warm-up would leave the weights at initialisation.
        using var scope = NewDisposeScope();
        var options = new BilevelOptions { Steps = 1, WeightLr = 0.2, Momentum = 0.5, AlphaLr = 0.05 };
        (double[,] Logits, double[] Weights) Search(BilevelOptions o)
        {
            var (supernet, _, _, train, val) = Fixture();
            using var _ = supernet;
            var logits = BilevelSearch.Run(supernet, train, val, o).Logits[0];
            return (logits, [.. supernet.parameters().SelectMany(p => p.data<double>().ToArray())]);
        }
        var warm = Search(options with { WarmupSteps = 3, InnerSteps = 0 });
        var inner = Search(options with { WarmupSteps = 0, InnerSteps = 3 });
        var cold = Search(options with { WarmupSteps = 0, InnerSteps = 0 });
        Assert.Equal(inner.Weights, warm.Weights);
        Assert.Equal(inner.Logits, warm.Logits);
        Assert.NotEqual(cold.Weights, warm.Weights);
        Assert.Throws<SettingException>(() => (options with { WarmupSteps = -1 }).Validate());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TheCalibratedHypergradientIsTheDerivativeOfTheBestScaledValidationLoss(bool squaredLoss)
    {
        using var scope = NewDisposeScope();
        var (supernet, alpha, _, _, val) = Fixture();
        using var _ = supernet;
        // Labels the network gets right on four of six samples, so that the best scale is finite and away from 0.
        long[] labels;
        using (no_grad())
        {
            supernet.SetMixingWeights([nn.functional.softmax(alpha[0].detach(), 1)]);
            labels = supernet.call(val.Item1).argmax(1).data<long>().ToArray();
        }
        labels[1] = (labels[1] + 1) % 3;
        labels[4] = (labels[4] + 2) % 3;
        val = (val.Item1, tensor(labels));
        if (squaredLoss) val = (val.Item1, nn.functional.one_hot(val.Item2, 3).to(ScalarType.Float64) - 1.0 / 3);

        // min_s L(s·f(α)) by a dense grid on log s refined by golden sections: an independent minimiser.
        double Best(Tensor a)
        {
            using var s = NewDisposeScope();
            using var g = no_grad();
            double L(double scale) => BilevelSearch.Loss(supernet, [a], val, detachAlpha: true, scale).item<double>();
            double lo = -8, hi = 8, step = 0.05, best = lo;
            for (double u = lo; u <= hi; u += step) if (L(Math.Exp(u)) < L(Math.Exp(best))) best = u;
            (lo, hi) = (best - step, best + step);
            double phi = (Math.Sqrt(5) - 1) / 2;
            for (int i = 0; i < 70; i++)
            {
                double m1 = hi - phi * (hi - lo), m2 = lo + phi * (hi - lo);
                if (L(Math.Exp(m1)) < L(Math.Exp(m2))) hi = m2; else lo = m1;
            }
            return L(Math.Exp((lo + hi) / 2));
        }

        double scale = BilevelSearch.OptimalScale(supernet, alpha, val);
        Assert.Equal(Best(alpha[0].detach()), BilevelSearch.Loss(supernet, alpha, val, detachAlpha: true, scale).item<double>(), 10);
        Assert.True(Math.Abs(Math.Log(scale)) > 0.05, $"s* = {scale}: too close to 1 to test the calibration");

        // With s* held fixed, ∇_α L(s*·f(α)) is the total derivative of α ↦ min_s L(s·f(α)) (∂L/∂s = 0 at s*).
        var hypergradient = autograd.grad([BilevelSearch.Loss(supernet, alpha, val, detachAlpha: false, scale)], alpha)[0];
        AssertCentralDifferences(Best, alpha[0], hypergradient, h: 1e-5, relative: 1e-5, absolute: 1e-8);
    }

    [Theory]
    [InlineData("first")]
    [InlineData("second")]
    public void TheSearchPrefersANonlinearityOnXor(string order)
    {
        var space = new MlpSpace(depth: 1, width: 32, choices: [Activation.Identity, Activation.Relu], allowSkips: false);
        var strategy = StrategyRegistry.Default.Create("bilevel", new Settings([new("train-points", "100"), new("val-points", "80"), new("steps", "60"), new("order", order)]));
        var outcome = strategy.Run(new SearchContext(space, MklStrategyTests.Data(), Seed: 1));
        Assert.Equal("w32/relu", outcome.Arch);
        Assert.True(outcome.Relaxed!.Alpha[0].Edges[0]["relu"] > 0.5);
    }

    [Fact]
    public void MinresFindsALeastSquaresSolutionOfASingularInconsistentSystem()
    {
        using var scope = NewDisposeScope();
        // A = U diag(3, 2, 0.5, 0, 0) Uᵀ: symmetric, rank 3; b has a part outside A's range, so A x = b has no solution.
        random.manual_seed(7);
        var (u, _) = linalg.qr(randn(new long[] { 5, 5 }, dtype: ScalarType.Float64));
        var a = u.mm(diag(tensor(new[] { 3.0, 2.0, 0.5, 0, 0 }, dtype: ScalarType.Float64))).mm(u.t());
        var b = randn(new long[] { 5, 1 }, dtype: ScalarType.Float64);
        var x = BilevelSearch.Minres(p => [a.mm(p[0])], [b], iterations: 10)[0];
        // A least-squares solution has A x = the projection of b onto A's range (dense reference: A A⁺ b).
        var projection = a.mm(linalg.pinv(a)).mm(b);
        Assert.True((a.mm(x) - projection).norm().item<double>() < 1e-10, $"residual of the normal equations {(a.mm(x) - projection).norm().item<double>()}");
        Assert.True((b - projection).norm().item<double>() > 0.1, "the test needs b outside A's range");
    }

    [Fact]
    public void TheImplicitHypergradientIsTheExplicitInterpolantDerivative()
    {
        using var scope = NewDisposeScope();
        var settings = new PlantedSettings { Dimension = 30, Width = 60, TrainPoints = 20, TestPoints = 50 };
        using var problem = new PlantedProblem(settings, seed: 6);
        var (xt, yt) = problem.Sample(20);
        var (xv, yv) = problem.Sample(15);
        using var supernet = new PlantedSupernet(settings.Activations, settings.Width);
        random.manual_seed(8);
        var logits = (0.5 * randn(new long[] { 1, 4 }, dtype: ScalarType.Float64)).requires_grad_(true);
        var w = softmax(logits.detach()[0], 0);
        double s = 1 / Math.Sqrt(settings.Width);
        var z = einsum("nph,h->np", xt, w) * s;
        var zv = einsum("nph,h->np", xv, w) * s;
        // Weights at an interpolant of the training split, plus a component in Z's null space (another interpolant).
        var pinv = linalg.pinv(z);
        var theta = pinv.mm(yt) + (eye(settings.Width, dtype: ScalarType.Float64) - pinv.mm(z)).mm(randn(new long[] { settings.Width, 1 }, dtype: ScalarType.Float64));
        var weights = supernet.parameters().ToArray();
        using (no_grad()) weights[0].copy_(theta);
        Assert.True((z.mm(theta) - yt).norm().item<double>() < 1e-10);

        var implicitGradient = BilevelSearch.Implicit(supernet, [logits], weights, (xt, yt), (xv, yv), iterations: 200)[0][0];

        // Reference (dense): Z(w) θ = y_T fixes θ up to Z's null space, so dθ/dw_i = −Z⁺ A_i θ with A_i = s Φ_T[:, :, i];
        // L_val = (1/2n_V) ‖Z_V θ − y_V‖², and the logits enter through the softmax Jacobian diag(w) − w wᵀ.
        var rv = zv.mm(theta) - yv;
        int nV = 15;
        var dw = zeros(4, dtype: ScalarType.Float64);
        for (int i = 0; i < 4; i++)
        {
            var ai = xt.select(2, i) * s;
            var bi = xv.select(2, i) * s;
            var direct = rv.t().mm(bi.mm(theta)) / nV;
            var throughTheta = -(zv.t().mm(rv) / nV).t().mm(pinv.mm(ai.mm(theta)));
            dw[i] = (direct + throughTheta).item<double>();
        }
        var reference = (diag(w) - w.outer(w)).mv(dw);
        double error = (implicitGradient - reference).norm().item<double>() / reference.norm().item<double>();
        // MINRES stops at ‖H r‖ ≤ 1e-8 ‖H‖ ‖r‖.
        Assert.True(error < 1e-6, $"relative error {error}: {string.Join(", ", implicitGradient.data<double>().ToArray())} vs {string.Join(", ", reference.data<double>().ToArray())}");
        // The first-order hypergradient (the weights held fixed) differs: the test tells the two apart.
        var first = autograd.grad([BilevelSearch.Loss(supernet, [logits], (xv, yv), detachAlpha: false)], [logits])[0][0];
        Assert.True((first - reference).norm().item<double>() > 1e-3 * reference.norm().item<double>());
    }
}
