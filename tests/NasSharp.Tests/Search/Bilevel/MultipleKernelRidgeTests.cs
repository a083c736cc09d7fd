using MathNet.Numerics.LinearAlgebra;
using NasSharp.Search.Bilevel;
using Xunit;

namespace NasSharp.Tests.Search.Bilevel;

[Collection(TorchCollection.Name)]
public class MultipleKernelRidgeTests
{
    /// <summary>h linear kernels X_i X_iᵀ on random features of n = n_T + n_V points (PSD, distinct), with targets.</summary>
    private static (List<double[]> Full, double[] TrainY, double[] ValY) Problem(int h, int nT, int nV, int outputs, int seed)
    {
        var rng = new Random(seed);
        int n = nT + nV;
        var kernels = new List<double[]>();
        for (int i = 0; i < h; i++)
        {
            var x = Matrix<double>.Build.Dense(n, 3 + i, (_, _) => Normal(rng));
            kernels.Add((x * x.Transpose()).ToRowMajorArray());
        }
        var y = Enumerable.Range(0, n * outputs).Select(_ => Normal(rng)).ToArray();
        return (kernels, y[..(nT * outputs)], y[(nT * outputs)..]);
    }

    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    private static MultipleKernelRidge Build(List<double[]> full, double[] trainY, double[] valY, int nT, int nV, int outputs, double ridge)
    {
        int n = nT + nV;
        var tt = full.Select(k => Enumerable.Range(0, nT * nT).Select(e => k[e / nT * n + e % nT]).ToArray()).ToList();
        var vt = full.Select(k => Enumerable.Range(0, nV * nT).Select(e => k[(nT + e / nT) * n + e % nT]).ToArray()).ToList();
        return new MultipleKernelRidge(tt, vt, trainY, valY, outputs, ridge);
    }

    [Fact]
    public void TheValidationLossIsKernelRidgeRegressionsByAnExplicitInverse()
    {
        const int nT = 7, nV = 5, C = 2;
        var (full, trainY, valY) = Problem(3, nT, nV, C, seed: 1);
        using var problem = Build(full, trainY, valY, nT, nV, C, ridge: 0.1);
        double[] alpha = [0.2, 0.5, 0.3];

        // Independent path: MathNet, K_α assembled entrywise, (K_TT + λI)⁻¹ by an explicit inverse.
        var k = Matrix<double>.Build.Dense(nT + nV, nT + nV, (i, j) => alpha.Select((a, m) => a * full[m][i * (nT + nV) + j]).Sum());
        var ktt = k.SubMatrix(0, nT, 0, nT) + 0.1 * Matrix<double>.Build.DenseIdentity(nT);
        var kvt = k.SubMatrix(nT, nV, 0, nT);
        var prediction = kvt * ktt.Inverse() * Matrix<double>.Build.DenseOfRowMajor(nT, C, trainY);
        double expected = 0.5 * (prediction - Matrix<double>.Build.DenseOfRowMajor(nV, C, valY)).FrobeniusNorm() * (prediction - Matrix<double>.Build.DenseOfRowMajor(nV, C, valY)).FrobeniusNorm() / nV;
        Assert.Equal(expected, problem.Evaluate(alpha).Loss, 1e-10 * expected);
        Assert.Equal(expected, problem.ValidationLoss(alpha), 1e-10 * expected);
    }

    [Fact]
    public void TheHypergradientMatchesCentralDifferences()
    {
        const int nT = 9, nV = 6, C = 3;
        var (full, trainY, valY) = Problem(4, nT, nV, C, seed: 2);
        using var problem = Build(full, trainY, valY, nT, nV, C, ridge: 0.05);
        double[] alpha = [0.1, 0.4, 0.3, 0.2];
        var gradient = problem.Evaluate(alpha).Gradient;
        const double h = 1e-6;
        for (int i = 0; i < alpha.Length; i++)
        {
            var plus = (double[])alpha.Clone(); plus[i] += h;
            var minus = (double[])alpha.Clone(); minus[i] -= h;
            double numeric = (problem.Evaluate(plus).Loss - problem.Evaluate(minus).Loss) / (2 * h);
            // Central differences are accurate to O(h²) plus rounding ~1e-16·L/h: far below 1e-6 relative here.
            Assert.True(Math.Abs(numeric - gradient[i]) <= 1e-6 * Math.Max(1, Math.Abs(numeric)), $"∂L/∂α_{i}: closed form {gradient[i]}, differences {numeric}");
        }
        Assert.Contains(gradient, g => Math.Abs(g) > 1e-3);
    }

    [Fact]
    public void TheTrainingLossIsTheRidgeResidual()
    {
        // K B − Y = (A − λI) A⁻¹ Y − Y = −λ A⁻¹ Y: with λ → 0 every kernel interpolates the training split.
        const int nT = 6, nV = 3;
        var (full, trainY, valY) = Problem(2, nT, nV, 1, seed: 3);
        using var small = Build(full, trainY, valY, nT, nV, 1, ridge: 1e-8);
        using var large = Build(full, trainY, valY, nT, nV, 1, ridge: 10);
        Assert.True(small.TrainingLoss([0.5, 0.5]) < 1e-12);
        Assert.True(large.TrainingLoss([0.5, 0.5]) > 1e-3);
    }

    [Fact]
    public void ExponentiatedGradientFindsThePlantedKernel()
    {
        // Targets are a linear function of the first kernel's features: the validation loss is smallest at α = e_1.
        var rng = new Random(4);
        const int nT = 30, nV = 40, n = nT + nV;
        var x1 = Matrix<double>.Build.Dense(n, 5, (_, _) => Normal(rng));
        var x2 = Matrix<double>.Build.Dense(n, 5, (_, _) => Normal(rng));
        var y = x1 * Vector<double>.Build.Dense(5, _ => Normal(rng));
        using var problem = Build([(x1 * x1.Transpose()).ToRowMajorArray(), (x2 * x2.Transpose()).ToRowMajorArray()],
            y.ToArray()[..nT], y.ToArray()[nT..], nT, nV, 1, ridge: 1e-3);
        double[] alpha = [0.5, 0.5];
        for (int t = 0; t < 100; t++) alpha = ExponentiatedGradient.Step(alpha, problem.Evaluate(alpha).Gradient, 0.5);
        Assert.True(alpha[0] > 0.99, $"α = [{alpha[0]}, {alpha[1]}]");
        Assert.True(problem.Evaluate(alpha).Loss < 0.01 * problem.Evaluate([0, 1]).Loss);
    }

    [Fact]
    public void AnExponentiatedGradientStepIsTheMultiplicativeUpdate()
    {
        var next = ExponentiatedGradient.Step([0.25, 0.75], [2, -1], 0.5);
        // g/‖g‖_∞ = (1, −0.5): weights ∝ (0.25 e^{−0.5}, 0.75 e^{0.25}).
        double a = 0.25 * Math.Exp(-0.5), b = 0.75 * Math.Exp(0.25);
        Assert.Equal(a / (a + b), next[0], 1e-15);
        Assert.Equal(1.0, next.Sum(), 1e-15);
    }
}
