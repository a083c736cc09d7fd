using NasSharp.Spaces;
using NasSharp.Theory;
using Xunit;

namespace NasSharp.Tests.Theory;

/// <summary>
/// Mean-field quantities against the published edge of chaos (Poole et al., NeurIPS 2016, arXiv 1606.05340; Schoenholz
/// et al., ICLR 2017, arXiv 1611.01232; computed independently by quadrature), closed forms
/// (relu, identity, leaky relu, erf), a plain Gauss–Hermite rule and central differences.
/// </summary>
public class MeanFieldTests
{
    // Tanh on the edge of chaos, the published values.
    [Theory]
    [InlineData(0.05, 1.761, 0.570)]
    [InlineData(0.01, 1.424, 0.273)]
    public void TanhEdgeOfChaosMatchesTheReferenceValues(double sigmaB2, double criticalSigmaW2, double qStar)
    {
        var edge = new MeanField(Activation.Tanh).EdgeOfChaos(sigmaB2);
        Assert.Null(edge.Reason);
        // The references have three decimals: within 1e-3 (half a unit of the last digit plus rounding).
        Assert.Equal(criticalSigmaW2, edge.SigmaW2, 1e-3);
        Assert.Equal(qStar, edge.QStar, 1e-3);
        Assert.Equal(1.0, new MeanField(Activation.Tanh).Chi1(edge.SigmaW2, sigmaB2), 1e-10);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.05)]
    [InlineData(0.5)]
    public void ReluIsCriticalAtSigmaW2OfExactlyTwo(double sigmaB2)
    {
        var relu = new MeanField(Activation.Relu);
        // χ₁ = σ_w² P(z > 0) = σ_w²/2 for every q.
        Assert.Equal(2.0, relu.EdgeOfChaos(sigmaB2).SigmaW2, 1e-10);
        Assert.Equal(1.3 / 2, relu.Chi1(1.3, sigmaB2), 1e-13);
    }

    [Fact]
    public void ReluAndIdentityHaveTheirClosedFormFixedPoints()
    {
        // E[relu(√q z)²] = q/2, so q* = σ_b²/(1 − σ_w²/2); the identity has q* = σ_b²/(1 − σ_w²).
        var relu = new MeanField(Activation.Relu).Analyze(1.5, 0.2);
        Assert.Equal(0.2 / (1 - 0.75), relu.QStar, 1e-12);
        Assert.Equal(MeanFieldPhase.Ordered, relu.Phase);
        Assert.Equal(1.0, relu.CStar);
        Assert.Equal(-1 / Math.Log(0.75), relu.XiC, 1e-9);
        // The length map is affine in q with slope σ_w²/2: χ_q = χ₁.
        Assert.Equal(0.75, relu.ChiQ, 1e-12);

        var identity = new MeanField(Activation.Identity).Analyze(0.6, 0.1);
        Assert.Equal(0.1 / 0.4, identity.QStar, 1e-12);
        Assert.Equal(0.6, identity.Chi1, 1e-13);
        Assert.Equal(1.0, new MeanField(Activation.Identity).EdgeOfChaos(0.3).SigmaW2, 1e-10);

        // max(x, αx): E[φ'²] = (1 + α²)/2.
        double alpha = Activations.LeakyReluSlope;
        Assert.Equal(2 / (1 + alpha * alpha), new MeanField(Activation.LeakyRelu).EdgeOfChaos(0.1).SigmaW2, 1e-10);
    }

    [Fact]
    public void ALengthThatGrowsOrIsPreservedHasNoFiniteFixedPointAndSaysWhy()
    {
        var relu = new MeanField(Activation.Relu);
        var chaotic = relu.Analyze(2.5, 0.1);
        Assert.Equal(double.PositiveInfinity, chaotic.QStar);
        Assert.Contains("grows without bound", chaotic.QStarReason);
        Assert.Equal(1.25, chaotic.Chi1, 1e-9);
        Assert.Equal(MeanFieldPhase.Chaotic, chaotic.Phase);
        Assert.NotNull(chaotic.CStarReason);

        var marginal = relu.LengthFixedPoint(2, 0);
        Assert.True(double.IsNaN(marginal.QStar));
        Assert.Contains("every q is a fixed point", marginal.Reason);
    }

    [Fact]
    public void OddActivationsWithoutBiasCollapseInTheOrderedPhaseAndDecorrelateFullyInTheChaoticPhase()
    {
        var tanh = new MeanField(Activation.Tanh);
        var ordered = tanh.Analyze(0.5, 0);
        Assert.Equal(0.0, ordered.QStar);
        Assert.Equal(0.5, ordered.Chi1, 1e-12); // φ'(0)² = 1
        Assert.NotNull(ordered.CStarReason);
        // σ_b = 0, φ odd: C(0) = 0, so the stable correlation below 1 is c* = 0.
        var chaotic = tanh.Analyze(2.0, 0);
        Assert.Equal(MeanFieldPhase.Chaotic, chaotic.Phase);
        Assert.Equal(0.0, chaotic.CStar, 1e-10);
        Assert.True(chaotic.ChiC < 1 && chaotic.XiC > 0);
    }

    [Fact]
    public void ErfAgreesWithItsClosedFormDualEverywhere()
    {
        // Williams (1997): E[erf(u)erf(v)] = (2/π) asin(2c/√((1+2q₁)(1+2q₂))), E[erf'(u)erf'(v)] = 4/(π√((1+2q₁)(1+2q₂) − 4c²)).
        static double K(double q, double c) => 2 / Math.PI * Math.Asin(2 * c / (1 + 2 * q));
        static double Kd(double q, double c) => 4 / Math.PI / Math.Sqrt((1 + 2 * q) * (1 + 2 * q) - 4 * c * c);
        double w = 3.0, b = 0.02;
        double q = 1;
        for (int i = 0; i < 2000; i++) q = w * K(q, q) + b; // the length map contracts here (χ_q < 1)
        double chi1 = w * Kd(q, q);
        // The chaotic correlation fixed point by bisection on the closed form.
        double lo = -1, hi = 1 - 1e-9;
        for (int i = 0; i < 200; i++)
        {
            double mid = 0.5 * (lo + hi);
            if ((w * K(q, mid * q) + b) / q - mid >= 0) lo = mid; else hi = mid;
        }
        var p = new MeanField(Activation.Erf).Analyze(w, b);
        Assert.Equal(q, p.QStar, 1e-10);
        Assert.Equal(chi1, p.Chi1, 1e-9);
        Assert.True(chi1 > 1);
        Assert.Equal(lo, p.CStar, 1e-9);
        Assert.Equal(-1 / Math.Log(w * Kd(q, lo * q)), p.XiC, 1e-6);
    }

    [Theory]
    [InlineData(Activation.Tanh, 0.3)]
    [InlineData(Activation.Tanh, 1.0)]
    [InlineData(Activation.Sigmoid, 4.0)]
    [InlineData(Activation.Swish, 1.0)]
    [InlineData(Activation.Gelu, 0.7)]
    [InlineData(Activation.Softplus, 1.5)]
    public void SmoothMomentsMatchAPlainGaussHermiteRule(Activation activation, double q)
    {
        // 160-point Gauss–Hermite (weight e^{−x²}): E[f(z)] = π^{−1/2} Σ w_i f(√2 x_i). φ(√q z) is analytic for these
        // activations, but tanh(√q z) has poles at distance π/(2√q) from the real axis, which slows the rule: at q = 2 it is
        // still 3e-9 off in E[φ'²] (a Simpson rule with 4e5 panels agrees with ours to 1e-13 there), so q stays ≤ 1.5.
        var (nodes, weights) = GaussHermite(160);
        double E(Func<double, double> f) => nodes.Zip(weights).Sum(p => p.Second * f(Math.Sqrt(2) * p.First)) / Math.Sqrt(Math.PI);
        double s = Math.Sqrt(q);
        var m = new MeanField(activation).At(q);
        double[] expected = [E(z => Math.Pow(activation.Evaluate(s * z), 2)), E(z => Math.Pow(activation.Derivative(s * z), 2)), E(z => Math.Pow(activation.Derivative(s * z), 4))];
        double[] actual = [m.Phi2, m.Dphi2, m.Dphi4];
        Assert.True(expected.Zip(actual).All(p => Math.Abs(p.First - p.Second) < 1e-10), $"{activation} at q = {q}: Gauss–Hermite {string.Join(", ", expected)}, ours {string.Join(", ", actual)}");
    }

    /// <summary>Gauss–Hermite nodes and weights (weight e^{−x²}) by Newton's method on the orthonormal Hermite recurrence
    /// (Press et al., Numerical Recipes, §4.6 "gauher"); accurate to rounding, unlike an eigensolver's eigenvectors.</summary>
    private static (double[] Nodes, double[] Weights) GaussHermite(int n)
    {
        var x = new double[n];
        var w = new double[n];
        double z = 0;
        for (int i = 0; i < (n + 1) / 2; i++)
        {
            z = i switch
            {
                0 => Math.Sqrt(2.0 * n + 1) - 1.85575 * Math.Pow(2.0 * n + 1, -0.16667),
                1 => z - 1.14 * Math.Pow(n, 0.426) / z,
                2 => 1.86 * z - 0.86 * x[0],
                3 => 1.91 * z - 0.91 * x[1],
                _ => 2 * z - x[i - 2],
            };
            double derivative = 0;
            for (int iteration = 0; iteration < 100; iteration++)
            {
                double p1 = Math.Pow(Math.PI, -0.25), p2 = 0;
                for (int j = 0; j < n; j++)
                {
                    double p3 = p2;
                    p2 = p1;
                    p1 = z * Math.Sqrt(2.0 / (j + 1)) * p2 - Math.Sqrt(j / (j + 1.0)) * p3;
                }
                derivative = Math.Sqrt(2.0 * n) * p2;
                double previous = z;
                z = previous - p1 / derivative;
                if (Math.Abs(z - previous) <= 1e-15 * Math.Max(1, Math.Abs(z))) break;
            }
            x[i] = z;
            x[n - 1 - i] = -z;
            w[i] = w[n - 1 - i] = 2 / (derivative * derivative);
        }
        return (x, w);
    }

    [Theory]
    [InlineData(Activation.Tanh, 1.2, 0.05)]
    [InlineData(Activation.Elu, 1.2, 0.1)]
    [InlineData(Activation.Gelu, 1.8, 0.2)]
    [InlineData(Activation.Sigmoid, 20, 0.1)]
    public void ChiQIsTheSlopeOfTheLengthMapAtItsFixedPoint(Activation activation, double sigmaW2, double sigmaB2)
    {
        var field = new MeanField(activation);
        var p = field.Analyze(sigmaW2, sigmaB2);
        Assert.Equal(p.QStar, field.LengthMap(p.QStar, sigmaW2, sigmaB2), 1e-11 * Math.Max(1, p.QStar));
        // Central difference, error O(h²·L''') ≈ 1e-10 here.
        double h = 1e-5 * p.QStar;
        double slope = (field.LengthMap(p.QStar + h, sigmaW2, sigmaB2) - field.LengthMap(p.QStar - h, sigmaW2, sigmaB2)) / (2 * h);
        Assert.Equal(slope, p.ChiQ, 1e-7);
        Assert.True(p.ChiQ < 1, "a stable fixed point contracts");
        Assert.Equal(-1 / Math.Log(p.ChiQ), p.XiQ, 1e-9);
    }

    [Fact]
    public void WhereTheFiniteLengthVanishesChi1JumpsOverOneAndTheEdgeSaysSo()
    {
        // gelu's length map keeps a finite stable fixed point a little beyond σ_w² = 2, until it merges with the unstable one
        // (a saddle-node); past it q grows without bound and χ₁ takes its q → ∞ value σ_w²/2 > 1.
        var gelu = new MeanField(Activation.Gelu);
        var edge = gelu.EdgeOfChaos(0.05);
        Assert.Contains("jumps", edge.Reason);
        Assert.True(double.IsFinite(gelu.LengthFixedPoint(edge.SigmaW2 * (1 - 1e-6), 0.05).QStar));
        Assert.Equal(double.PositiveInfinity, gelu.LengthFixedPoint(edge.SigmaW2 * (1 + 1e-6), 0.05).QStar);
        Assert.True(gelu.Chi1(edge.SigmaW2 * (1 - 1e-6), 0.05) < 1 && gelu.Chi1(edge.SigmaW2 * (1 + 1e-6), 0.05) > 1);
    }

    [Theory]
    [InlineData(Activation.Tanh)]
    [InlineData(Activation.Elu)]
    [InlineData(Activation.Erf)]
    public void ThePhaseDiagramIsOrderedLeftOfTheEdgeOfChaosAndChaoticRightOfIt(Activation activation)
    {
        var field = new MeanField(activation);
        var diagram = field.Phases(MeanField.Geometric(0.5, 8, 12), [0.01, 0.1, 0.4]);
        Assert.Equal(3, diagram.Chi1.Count);
        foreach (var (edge, row) in diagram.EdgeOfChaos.Zip(diagram.Chi1))
        {
            Assert.Null(edge.Reason);
            for (int j = 0; j < diagram.SigmaW2.Count; j++)
                Assert.Equal(diagram.SigmaW2[j] < edge.SigmaW2, row[j] < 1);
            Assert.Equal(MeanFieldPhase.Ordered, field.Analyze(edge.SigmaW2 * 0.97, edge.SigmaB2).Phase);
            Assert.Equal(MeanFieldPhase.Chaotic, field.Analyze(edge.SigmaW2 * 1.03, edge.SigmaB2).Phase);
        }
    }

    [Fact]
    public void BadVariancesAreRejected()
    {
        var tanh = new MeanField(Activation.Tanh);
        Assert.Throws<ArgumentOutOfRangeException>(() => tanh.Analyze(0, 0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => tanh.Analyze(1, -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => tanh.Analyze(double.NaN, 0.1));
    }
}
