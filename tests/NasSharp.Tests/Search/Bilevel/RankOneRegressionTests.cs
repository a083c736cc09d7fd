using NasSharp.Search.Bilevel;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Search.Bilevel;

[Collection(TorchCollection.Name)]
public class RankOneRegressionTests
{
    private static readonly double[] AlphaStar = [0.5, 0.3, 0.2, 0.0];

    /// <summary>Noiseless planted data: Gaussian features [n, p, h], y = Φ(x)ᵀ... = ⟨Φ(x), θ* α*ᵀ⟩.</summary>
    internal static (Tensor Features, Tensor Targets, Tensor Theta) Planted(int n, int p, double[] alpha, long seed, Tensor? theta = null)
    {
        using var generator = new Generator((ulong)seed);
        var features = randn(new long[] { n, p, alpha.Length }, dtype: ScalarType.Float64, generator: generator);
        theta ??= randn(new long[] { p, 1 }, dtype: ScalarType.Float64, generator: generator);
        var targets = einsum("nph,pc,h->nc", features, theta, tensor(alpha, dtype: ScalarType.Float64));
        return (features, targets, theta);
    }

    private static double Distance(double[] a, double[] b) => Math.Sqrt(a.Zip(b, (x, y) => (x - y) * (x - y)).Sum());

    [Fact]
    public void OnAnIsotropicDesignTheSpectralEstimatorIsExact()
    {
        using var scope = NewDisposeScope();
        // Φ_j = √(ph)·E_j over the p·h matrix units E_j: n⁻¹ Σ_j ⟨Φ_j, M⟩ Φ_j = M exactly, so M̂ = θ*α*ᵀ and its top pair is (θ*, α*).
        const int p = 3, h = 4, n = p * h;
        var features = zeros(n, p, h, dtype: ScalarType.Float64);
        for (int j = 0; j < n; j++) features[j, j / h, j % h] = tensor(Math.Sqrt(n));
        var theta = tensor(new double[] { 1.5, -2, 0.5 }, dtype: ScalarType.Float64).reshape(p, 1);
        var targets = einsum("nph,pc,h->nc", features, theta, tensor(AlphaStar, dtype: ScalarType.Float64));
        var estimate = RankOneRegression.Spectral(features, targets);
        Assert.True(Distance(AlphaStar, estimate.Alpha) < 1e-12, $"α̂ = [{string.Join(", ", estimate.Alpha)}]");
        Assert.True(Distance([1.5, -2, 0.5], estimate.Theta) < 1e-12);
        Assert.True(RankOneRegression.Loss(estimate, features, targets) < 1e-24);
    }

    [Fact]
    public void OnNoiselessPlantedDataAlternatingLeastSquaresRecoversAlphaExactly()
    {
        using var scope = NewDisposeScope();
        const int p = 10, h = 4, n = 5 * (p + h);
        var (trainX, trainY, theta) = Planted(n, p, AlphaStar, seed: 1);
        var (valX, valY, _) = Planted(n, p, AlphaStar, seed: 2, theta);
        var spectral = RankOneRegression.Spectral(trainX, trainY);
        // The moment estimate is only close (its error is O(√(ph/n))); ALS from it is exact up to rounding.
        Assert.True(Distance(AlphaStar, spectral.Alpha) < 0.5);
        var als = RankOneRegression.AlternatingLeastSquares(trainX, trainY, valX, valY, spectral, iterations: 30);
        Assert.True(Distance(AlphaStar, als.Alpha) < 1e-9, $"α̂ = [{string.Join(", ", als.Alpha)}]");
        Assert.True(Distance([.. theta.data<double>()], als.Theta) < 1e-8);
    }

    [Fact]
    public void GradientDescentLowersTheLossAndApproachesAlpha()
    {
        using var scope = NewDisposeScope();
        const int p = 10, h = 4, n = 5 * (p + h);
        var (x, y, _) = Planted(n, p, AlphaStar, seed: 3);
        var start = RankOneRegression.GradientDescent(x, y, 0.5, steps: 0, seed: 1);
        var trained = RankOneRegression.GradientDescent(x, y, 0.5, steps: 3000, seed: 1);
        Assert.True(RankOneRegression.Loss(trained, x, y) < 1e-3 * RankOneRegression.Loss(start, x, y));
        Assert.True(Distance(AlphaStar, trained.Alpha) < 0.05, $"α̂ = [{string.Join(", ", trained.Alpha)}]");
    }

    [Fact]
    public void TheSimplexProjectionIsTheNearestPointOfTheSimplex()
    {
        Assert.Equal([1.0, 0.0], RankOneRegression.ProjectToSimplex([2, 0]));
        Assert.Equal([0.5, 0.5, 0.0], RankOneRegression.ProjectToSimplex([0.6, 0.6, -1]));
        // Against a brute-force search over a fine grid of the 2-simplex.
        var rng = new Random(5);
        for (int trial = 0; trial < 20; trial++)
        {
            double[] v = [3 * rng.NextDouble() - 1, 3 * rng.NextDouble() - 1, 3 * rng.NextDouble() - 1];
            var projected = RankOneRegression.ProjectToSimplex(v);
            Assert.Equal(1.0, projected.Sum(), 1e-12);
            Assert.All(projected, a => Assert.True(a >= 0));
            double best = double.MaxValue;
            for (int i = 0; i <= 200; i++)
                for (int j = 0; i + j <= 200; j++)
                    best = Math.Min(best, Distance(v, [i / 200.0, j / 200.0, (200 - i - j) / 200.0]));
            Assert.True(Distance(v, projected) <= best + 1e-12);
        }
    }
}
