using NasSharp.Kernels;
using NasSharp.Spaces;
using Xunit;

namespace NasSharp.Tests.Kernels.Analytic;

public class DualActivationTests
{
    // Correlations from anti-parallel to parallel, including the near-parallel pairs where Mehler's series is
    // rejected and the kink-split quadrature takes over.
    private static readonly double[] Rhos = [-1, -0.999, -0.7, -0.2, 0, 0.3, 0.8, 0.95, 0.9999, 1];

    /// <summary>Arc-cosine kernels (Cho &amp; Saul 2009), generalised to max(x, αx) = αx + (1−α)relu(x), written here from scratch.</summary>
    private static (double K, double Kd) LeakyReluDual(double alpha, double q1, double q2, double rho)
    {
        double theta = Math.Acos(rho), norm = Math.Sqrt(q1 * q2);
        double j1 = Math.Sin(theta) + (Math.PI - theta) * Math.Cos(theta);
        double relu = norm * j1 / (2 * Math.PI), step = 1 - theta / Math.PI;
        // E[(αu + (1−α)r(u))(αv + (1−α)r(v))] = α²c + α(1−α)(E[u r(v)] + E[r(u) v]) + (1−α)² E[r r], E[u r(v)] = c/2.
        double c = rho * norm;
        return (alpha * alpha * c + alpha * (1 - alpha) * c + (1 - alpha) * (1 - alpha) * relu,
                alpha * alpha + alpha * (1 - alpha) + (1 - alpha) * (1 - alpha) * step / 2);
    }

    private static (double K, double Kd) ErfDual(double q1, double q2, double rho)
    {
        double c = rho * Math.Sqrt(q1 * q2);
        double k = 2 / Math.PI * Math.Asin(2 * c / Math.Sqrt((1 + 2 * q1) * (1 + 2 * q2)));
        double kd = 4 / Math.PI / Math.Sqrt((1 + 2 * q1) * (1 + 2 * q2) - 4 * c * c);
        return (k, kd);
    }

    private static (double K, double Kd) Reference(Activation a, double q1, double q2, double rho) => a switch
    {
        Activation.Relu => LeakyReluDual(0, q1, q2, rho),
        Activation.LeakyRelu => LeakyReluDual(0.01, q1, q2, rho),
        Activation.Erf => ErfDual(q1, q2, rho),
        Activation.Identity => (rho * Math.Sqrt(q1 * q2), 1),
        _ => throw new ArgumentOutOfRangeException(nameof(a)),
    };

    public static TheoryData<Activation> ClosedForms => new() { Activation.Relu, Activation.LeakyRelu, Activation.Erf, Activation.Identity };

    [Theory]
    [MemberData(nameof(ClosedForms))]
    public void ClosedFormsMatchTheIndependentFormulas(Activation a)
    {
        var dual = DualActivation.For(a);
        Assert.True(dual.IsClosedForm);
        foreach (var (q1, q2) in new[] { (1.0, 1.0), (0.3, 2.0), (50.0, 7.0) })
            foreach (var rho in Rhos)
            {
                var (k, kd) = dual.Evaluate(q1, q2, rho * Math.Sqrt(q1 * q2));
                var (rk, rkd) = Reference(a, q1, q2, rho);
                // Same formulas in a different arrangement: agreement to rounding.
                Assert.Equal(rk, k, 1e-12 * Math.Sqrt(q1 * q2));
                Assert.Equal(rkd, kd, 1e-12 * Math.Max(1, rkd));
            }
    }

    [Theory]
    [MemberData(nameof(ClosedForms))]
    public void QuadratureAgreesWithTheClosedForms(Activation a)
    {
        var numeric = DualActivation.Numeric(a);
        Assert.False(numeric.IsClosedForm);
        // Variances from 0.05 to 10⁴: large q makes σ(√q ·) nearly a step at the kink, the hard case for quadrature.
        foreach (var (q1, q2) in new[] { (0.05, 0.05), (1.0, 1.0), (0.4, 2.5), (30.0, 30.0), (1e4, 3e3) })
            foreach (var rho in Rhos)
            {
                var (k, kd) = numeric.Evaluate(q1, q2, rho * Math.Sqrt(q1 * q2));
                var (rk, rkd) = Reference(a, q1, q2, rho);
                // The issue asks for 1e-6; measured errors are below 1e-10 relative to the scale √(E[σ²]E[σ²]).
                double scale = a == Activation.Erf ? 1 : Math.Sqrt(q1 * q2);
                double derivativeScale = a == Activation.Erf ? 4 / Math.PI / Math.Sqrt((1 + 2 * q1) * (1 + 2 * q2)) : 1;
                Assert.True(Math.Abs(k - rk) <= 1e-8 * scale, $"{a} q=({q1},{q2}) ρ={rho}: K {k} vs {rk}");
                Assert.True(Math.Abs(kd - rkd) <= 1e-8 * Math.Max(derivativeScale, Math.Abs(rkd)), $"{a} q=({q1},{q2}) ρ={rho}: Kd {kd} vs {rkd}");
            }
    }

    [Theory]
    [MemberData(nameof(ClosedForms))]
    public void TabulatedAndPerPairMatricesAgreeWithTheClosedForms(Activation a)
    {
        var rng = new Random(11);
        foreach (var equalVariances in new[] { true, false })
        {
            // Σ = σ_w² XXᵀ/d + σ_b² for random X: rows scaled to equal norms take the tabulated path, others the per-pair path.
            int n = 9, d = 4;
            var x = new double[n * d];
            for (int i = 0; i < x.Length; i++) x[i] = rng.NextDouble() * 2 - 1;
            if (equalVariances)
                for (int i = 0; i < n; i++)
                {
                    double norm = Math.Sqrt(Enumerable.Range(0, d).Sum(j => x[i * d + j] * x[i * d + j]));
                    for (int j = 0; j < d; j++) x[i * d + j] *= Math.Sqrt(d) / norm;
                }
            var sigma = new double[n * n];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    sigma[i * n + j] = 1.7 * Enumerable.Range(0, d).Sum(t => x[i * d + t] * x[j * d + t]) / d + 0.04;

            var (k, kd, mean) = DualActivation.Numeric(a).EvaluateMatrix(sigma, n);
            for (int i = 0; i < n; i++)
            {
                double qi = sigma[i * n + i];
                Assert.Equal(DualActivation.For(a).Mean(qi), mean[i], 1e-10);
                for (int j = 0; j < n; j++)
                {
                    double qj = sigma[j * n + j];
                    var (rk, rkd) = Reference(a, qi, qj, Math.Clamp(sigma[i * n + j] / Math.Sqrt(qi * qj), -1, 1));
                    // Table interpolation (six-point Lagrange on 257 nodes) adds ≲ 1e-11 to the quadrature error.
                    Assert.True(Math.Abs(k[i * n + j] - rk) <= 1e-8 * Math.Sqrt(qi * qj), $"{a} equal={equalVariances} ({i},{j}): K {k[i * n + j]} vs {rk}");
                    Assert.True(Math.Abs(kd[i * n + j] - rkd) <= 1e-8, $"{a} equal={equalVariances} ({i},{j}): Kd {kd[i * n + j]} vs {rkd}");
                }
            }
        }
    }

    [Fact]
    public void MeansMatchTheirClosedForms()
    {
        foreach (var q in new[] { 0.1, 1.0, 40.0 })
        {
            Assert.Equal(Math.Sqrt(q / (2 * Math.PI)), DualActivation.For(Activation.Relu).Mean(q), 1e-14);
            Assert.Equal(Math.Sqrt(q / (2 * Math.PI)), DualActivation.Numeric(Activation.Relu).Mean(q), 1e-12);
            Assert.Equal(0.99 * Math.Sqrt(q / (2 * Math.PI)), DualActivation.Numeric(Activation.LeakyRelu).Mean(q), 1e-12);
            // sigmoid(x) − 1/2 is odd, so E[sigmoid(√q z)] = 1/2 for every q.
            Assert.Equal(0.5, DualActivation.For(Activation.Sigmoid).Mean(q), 1e-12);
            Assert.Equal(0.0, DualActivation.For(Activation.Tanh).Mean(q), 1e-12);
        }
    }

    [Fact]
    public void BadVariancesAreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => DualActivation.For(Activation.Tanh).Evaluate(0, 1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => DualActivation.For(Activation.Relu).Evaluate(1, double.NaN, 0));
        Assert.Throws<ArgumentException>(() => DualActivation.For(Activation.Tanh).EvaluateMatrix([1, 0, 0, -1], 2));
    }
}

public class ActivationCalculusTests
{
    [Fact]
    public void DerivativesMatchCentralDifferencesAndTheFusedEvaluation()
    {
        foreach (var a in Activations.All)
            foreach (var x in new[] { -7.3, -2.0, -0.4, 0.3, 1.1, 4.5, 25.0 })
            {
                // h = 1e-5: truncation h²|σ'''|/6 ≲ 1e-10, rounding ε|σ|/h ≲ 1e-10 (away from the kink at 0).
                double h = 1e-5, fd = (a.Evaluate(x + h) - a.Evaluate(x - h)) / (2 * h);
                Assert.True(Math.Abs(a.Derivative(x) - fd) <= 1e-8 * Math.Max(1, Math.Abs(fd)), $"{a} σ'({x}) = {a.Derivative(x)} vs {fd}");
                double value = GaussianQuadrature.ValueAndDerivative(a, x, out double derivative);
                Assert.Equal(a.Evaluate(x), value, 1e-14 * Math.Max(1, Math.Abs(value)));
                Assert.Equal(a.Derivative(x), derivative, 1e-14);
            }
    }

    [Fact]
    public void QuadratureAgreesWithMehlersSeriesWhereTheSeriesHasConverged()
    {
        // For every activation, at correlations where the series remainder bound is below 1e-13, the kink-split polar
        // quadrature must reproduce it: two independent routes to E[σ(u)σ(v)] and E[σ'(u)σ'(v)].
        foreach (var a in Activations.All)
            foreach (var (q1, q2) in new[] { (0.4, 3.0), (12.0, 12.0) })
            {
                var e1 = HermiteExpansion.Of(a, q1, 384);
                var e2 = HermiteExpansion.Of(a, q2, 384);
                foreach (var rho in new[] { -0.6, 0.2, 0.55 })
                {
                    var (k, kd, bound, derivativeBound) = HermiteExpansion.Mehler(e1, e2, rho);
                    Assert.True(bound < 1e-13 && derivativeBound < 1e-13, $"{a}: series not converged at ρ = {rho}");
                    var (qk, qkd) = GaussianQuadrature.Bivariate(a, q1, q2, rho);
                    double scale = Math.Sqrt(e1.SecondMoment * e2.SecondMoment), dscale = Math.Sqrt(e1.DerivativeSecondMoment * e2.DerivativeSecondMoment);
                    // The bivariate rule's error is ≤ 1e-9 of the scale for every activation (measured ≤ 1e-10 here).
                    Assert.True(Math.Abs(qk - k) <= 1e-9 * scale, $"{a} q=({q1},{q2}) ρ={rho}: K {qk} vs {k}");
                    Assert.True(Math.Abs(qkd - kd) <= 1e-9 * dscale, $"{a} q=({q1},{q2}) ρ={rho}: Kd {qkd} vs {kd}");
                }
            }
    }
}
