using NasSharp.Spaces;
using NasSharp.Theory;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Theory;

/// <summary>
/// The mean-field maps against Monte-Carlo propagation through wide random networks, written here with plain tensors
/// (h^l = W^l φ(h^{l−1}) + b^l, W_ij ~ N(0, σ_w²/N), b_i ~ N(0, σ_b²)). Each of M independent networks gives one estimate
/// per layer; the sampling error is their standard deviation over √M, and each layer's mean must lie within 4 standard
/// errors plus 2/N (the finite-width bias of the maps is O(1/N): the layer's variance is itself random, and E[φ²] is
/// not linear in it).
/// </summary>
[Collection(TorchCollection.Name)]
public class MeanFieldMonteCarloTests
{
    private const int Width = 1000;
    private const int Networks = 12;

    /// <summary>q^l and c^l of two inputs per layer, for each of <see cref="Networks"/> networks: [network][layer].</summary>
    private static (double[][] Q, double[][] C) Propagate(Activation activation, double sigmaW2, double sigmaB2, double q0, double c0, int depth, long seed)
    {
        var q = new double[Networks][];
        var c = new double[Networks][];
        for (int m = 0; m < Networks; m++)
        {
            using var scope = NewDisposeScope();
            random.manual_seed(seed + m);
            var a = randn(Width, dtype: ScalarType.Float64);
            var b = c0 * a + Math.Sqrt(1 - c0 * c0) * randn(Width, dtype: ScalarType.Float64);
            var h = stack([a, b], 1) * Math.Sqrt(q0); // [N, 2]: two inputs with correlation c0 and length q0
            q[m] = new double[depth];
            c[m] = new double[depth];
            for (int l = 0; l < depth; l++)
            {
                var w = randn(Width, Width, dtype: ScalarType.Float64) * Math.Sqrt(sigmaW2 / Width);
                var bias = randn(Width, 1, dtype: ScalarType.Float64) * Math.Sqrt(sigmaB2);
                h = w.mm(activation.Apply(h)) + bias;
                var gram = h.t().mm(h).data<double>().ToArray(); // [2, 2]
                q[m][l] = gram[0] / Width;
                c[m][l] = gram[1] / Math.Sqrt(gram[0] * gram[3]);
            }
        }
        return (q, c);
    }

    private static void AssertWithinSamplingError(double[][] samples, IReadOnlyList<double> theory, string what)
    {
        for (int l = 0; l < theory.Count; l++)
        {
            var x = samples.Select(s => s[l]).ToArray();
            double mean = x.Average();
            double se = Math.Sqrt(x.Sum(v => (v - mean) * (v - mean)) / (x.Length - 1) / x.Length);
            double tolerance = 4 * se + 2.0 / Width * Math.Max(1, Math.Abs(theory[l]));
            Assert.True(Math.Abs(mean - theory[l]) <= tolerance,
                $"{what} at layer {l + 1}: Monte Carlo {mean:G6} ± {se:G3} (SE), mean field {theory[l]:G6}, tolerance {tolerance:G3}");
        }
    }

    [Theory]
    [InlineData(Activation.Tanh, 1.5, 0.05, 3.0)]
    [InlineData(Activation.Relu, 1.6, 0.1, 0.5)]
    [InlineData(Activation.Swish, 2.5, 0.2, 1.0)]
    public void TheLengthMapPredictsEveryLayersSquaredLength(Activation activation, double sigmaW2, double sigmaB2, double q0)
    {
        const int depth = 6;
        var field = new MeanField(activation);
        var (q, _) = Propagate(activation, sigmaW2, sigmaB2, q0, 0.5, depth, seed: 100);
        var theory = new double[depth];
        double qt = q0;
        for (int l = 0; l < depth; l++) theory[l] = qt = field.LengthMap(qt, sigmaW2, sigmaB2);
        AssertWithinSamplingError(q, theory, $"q of {activation}");
    }

    [Theory]
    [InlineData(1.2, 0.05, 0.3)]   // ordered: correlations rise to c* = 1
    [InlineData(2.5, 0.05, 0.95)]  // chaotic: correlations fall to c* < 1
    public void TheCorrelationMapPredictsEveryLayersCorrelationAndItsFixedPoint(double sigmaW2, double sigmaB2, double c0)
    {
        const int depth = 10;
        var field = new MeanField(Activation.Tanh);
        var point = field.Analyze(sigmaW2, sigmaB2);
        var (_, c) = Propagate(Activation.Tanh, sigmaW2, sigmaB2, point.QStar, c0, depth, seed: 200);
        var theory = new double[depth];
        double ct = c0;
        for (int l = 0; l < depth; l++) theory[l] = ct = field.CorrelationMap(ct, point.QStar, sigmaW2, sigmaB2).Value;
        AssertWithinSamplingError(c, theory, "c of tanh");
        // Iterated on, the map reaches the stable fixed point the analysis reports.
        for (int l = 0; l < 200; l++) ct = field.CorrelationMap(ct, point.QStar, sigmaW2, sigmaB2).Value;
        Assert.Equal(point.CStar, ct, 1e-7);
    }
}
