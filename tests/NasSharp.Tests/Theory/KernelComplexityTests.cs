using MathNet.Numerics.LinearAlgebra;
using NasSharp.Networks;
using NasSharp.Spaces;
using NasSharp.Theory;
using Xunit;

namespace NasSharp.Tests.Theory;

[Collection(TorchCollection.Name)]
public class KernelComplexityTests
{
    [Fact]
    public void OrthogonalInputsThroughALinearNetworkGiveTheClosedFormComplexity()
    {
        // Identity activation, one hidden layer, σ_b = 0, inputs √d·e_i: Σ¹ = σ_w² I, Θ = Σ² + σ_w² Θ¹ = 2σ_w⁴ I,
        // so tr(YᵀΘ⁻¹Y)/N = ‖Y‖_F²/(2σ_w⁴ N) = 1/(2σ_w⁴) for one-hot Y.
        const int n = 6, d = 8;
        var x = new double[n * d];
        for (int i = 0; i < n; i++) x[i * d + i] = Math.Sqrt(d);
        int[] labels = [0, 1, 2, 0, 1, 2];
        double sw = 1.3;
        var report = NtkTheory.Analyze(MlpGenotype.Parse("w1/identity"), new SphereBatch(x, n, labels, 3), NetworkOptions.Ntk(sw, 0));
        Assert.Equal(1 / (2 * Math.Pow(sw, 4)), report.Complexity, 1e-12);
        Assert.Equal(2 * Math.Pow(sw, 4), report.LambdaMin, 1e-12);
        Assert.Equal(report.LambdaMin, report.InverseComplexity, 1e-12);
    }

    [Fact]
    public void ComplexityOfADeepLinearNetworkMatchesADirectSolve()
    {
        // Identity activations, depth 2, σ_b > 0, correlated inputs on the sphere. The kernel in closed form:
        // Σ¹ = σ_w² G + σ_b², Θ¹ = Σ¹; Σ^{l+1} = σ_w² Σ^l + σ_b², Θ^{l+1} = Σ^{l+1} + σ_w² Θ^l (E[σ'σ'] = 1, no means).
        // A linear network's kernel has rank ≤ d + 1, so N ≤ d keeps it invertible.
        const int n = 6, d = 9, classes = 3;
        var rng = new Random(5);
        var raw = Enumerable.Range(0, n * d).Select(_ => rng.NextDouble() * 2 - 1 + 0.2).ToArray();
        var labels = Enumerable.Range(0, n).Select(i => (i * 7) % classes).ToArray();
        var batch = new SphereBatch(raw, n, labels, classes);
        var xs = batch.Inputs;
        double sw = 0.9, sb = 0.3;
        var g = Matrix<double>.Build.Dense(n, n, (i, j) => Enumerable.Range(0, d).Sum(t => xs[i * d + t] * xs[j * d + t]) / d);
        var sigma = sw * sw * g + sb * sb;
        var theta = sigma.Clone();
        for (int l = 0; l < 2; l++)
        {
            sigma = sw * sw * sigma + sb * sb;
            theta = sigma + sw * sw * theta;
        }
        var y = Matrix<double>.Build.Dense(n, classes, (i, k) => labels[i] == k ? 1 : 0);
        double direct = (y.Transpose() * theta.Cholesky().Solve(y)).Trace() / n;

        var report = NtkTheory.Analyze(MlpGenotype.Parse("w1/identity-identity"), batch, NetworkOptions.Ntk(sw, sb));
        // Θ has condition number ~1e2 here: the two float64 solves agree to ~1e-13 relative.
        Assert.Equal(direct, report.Complexity, 1e-10 * direct);
        // ‖Y‖_F² = N, so the complexity is at most 1/λ_min.
        Assert.True(report.Complexity <= 1 / report.LambdaMin);
        Assert.Equal(Math.Sqrt(2 * direct), report.GeneralizationTerm, 1e-9);
    }

    [Fact]
    public void ASingularKernelHasInfiniteComplexityAndZeroInverse()
    {
        // Θ = 11ᵀ (rank one) cannot interpolate labels that are not constant.
        var r = KernelComplexity.Compute([1, 1, 1, 1], 2, [0, 1], 2);
        Assert.Equal(double.PositiveInfinity, r.Complexity);
        Assert.Equal(0, r.InverseComplexity);
        var nan = KernelComplexity.Compute([1, double.NaN, double.NaN, 1], 2, [0, 1], 2);
        Assert.NotNull(nan.NonFiniteReason);
        Assert.True(double.IsNaN(nan.Complexity));
    }
}
