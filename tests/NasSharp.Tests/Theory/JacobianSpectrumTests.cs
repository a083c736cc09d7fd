using NasSharp.Spaces;
using NasSharp.Theory;
using Xunit;

namespace NasSharp.Tests.Theory;

/// <summary>
/// Jacobian spectra of deep random networks against exact values (linear orthogonal networks), the mean-field mean
/// square χ₁^L and the free-probability spread, over independent seeds with the sampling error stated per test.
/// </summary>
[Collection(TorchCollection.Name)]
public class JacobianSpectrumTests
{
    private static (double Mean, double StandardError) OverSeeds(int seeds, Func<long, double> measure)
    {
        var x = Enumerable.Range(0, seeds).Select(s => measure(1000 + s)).ToArray();
        double mean = x.Average();
        return (mean, Math.Sqrt(x.Sum(v => (v - mean) * (v - mean)) / (seeds - 1) / seeds));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void ALinearOrthogonalNetworkIsExactlyIsometricUpToItsScale(int imageSize)
    {
        // φ = identity, σ_b = 0: J = Π σ_w O_l (delta-orthogonal convolutions act on every pixel by O_l), so every singular value is σ_w^L.
        const int depth = 6;
        var net = new RandomNetwork(Activation.Identity, 1.3, 0, depth, imageSize > 0 ? 6 : 40, WeightInit.Orthogonal, 1, imageSize);
        var s = JacobianSpectrum.SingularValues(net, seed: 3);
        Assert.Equal(net.Dimension, s.Length);
        Assert.All(s, v => Assert.Equal(Math.Pow(1.3, depth / 2.0), v, 1e-10));
        Assert.Equal(0.0, JacobianSpectrum.Spread(s), 1e-12);
    }

    [Theory]
    [InlineData(1.2, WeightInit.Gaussian, 0)]
    [InlineData(1.2, WeightInit.Orthogonal, 0)]
    [InlineData(0, WeightInit.Gaussian, 0)]      // 0: the edge of chaos
    [InlineData(0, WeightInit.Orthogonal, 0)]
    [InlineData(2.2, WeightInit.Gaussian, 0)]
    [InlineData(2.2, WeightInit.Orthogonal, 0)]
    [InlineData(0, WeightInit.Gaussian, 4)]
    [InlineData(0, WeightInit.Orthogonal, 4)]
    public void TheMeanSquaredSingularValueIsChi1ToTheDepth(double sigmaW2, WeightInit weights, int imageSize)
    {
        // Pennington et al. (2017): ⟨s²⟩ of J = Π_l of each layer's χ₁ = χ₁^L when every layer is at q*.
        const int depth = 8;
        const double sigmaB2 = 0.05;
        var field = new MeanField(Activation.Tanh);
        if (sigmaW2 == 0) sigmaW2 = field.EdgeOfChaos(sigmaB2).SigmaW2;
        var point = field.Analyze(sigmaW2, sigmaB2);
        double expected = Math.Pow(point.Chi1, depth);
        int width = imageSize > 0 ? 16 : 200;
        var (mean, se) = OverSeeds(6, seed => JacobianSpectrum.MeanSquare(JacobianSpectrum.SingularValues(
            new RandomNetwork(Activation.Tanh, sigmaW2, sigmaB2, depth, width, weights, point.QStar, imageSize), seed)));
        // 4 standard errors over the seeds plus a finite-width bias of relative size L/N (N = fan-in: 200, or 16·9 for the convolutions).
        double fanIn = imageSize > 0 ? width * 9 : width;
        double tolerance = 4 * se + depth / fanIn * expected;
        Assert.True(Math.Abs(mean - expected) <= tolerance, $"⟨s²⟩ = {mean:G5} ± {se:G3}, χ₁^L = {expected:G5}, tolerance {tolerance:G3}");
    }

    [Theory]
    [InlineData(Activation.Tanh, WeightInit.Gaussian)]
    [InlineData(Activation.Tanh, WeightInit.Orthogonal)]
    [InlineData(Activation.Relu, WeightInit.Gaussian)]
    [InlineData(Activation.Relu, WeightInit.Orthogonal)]
    public void TheSpreadAtCriticalityIsTheFreeProbabilityValue(Activation activation, WeightInit weights)
    {
        const int depth = 8;
        const int width = 256;
        // tanh on its edge of chaos at σ_b² = 0.05; relu at σ_w² = 2, σ_b² = 0 (its spectrum does not depend on the input's length).
        double sigmaB2 = activation == Activation.Tanh ? 0.05 : 0;
        var field = new MeanField(activation);
        var edge = field.EdgeOfChaos(sigmaB2);
        double q = double.IsFinite(edge.QStar) ? edge.QStar : 1;
        double predicted = JacobianSpectrum.PredictedSpread(activation, q, depth, weights);
        var (mean, se) = OverSeeds(4, seed => JacobianSpectrum.Spread(JacobianSpectrum.SingularValues(
            new RandomNetwork(activation, edge.SigmaW2, sigmaB2, depth, width, weights, q), seed)));
        // Finite width changes the spread by O(L/N) relatively (3% here; Wishart's m₂ is 2 + 1/N): allow 10% plus 4 standard errors.
        double tolerance = 4 * se + 0.1 * predicted;
        Assert.True(Math.Abs(mean - predicted) <= tolerance, $"spread {mean:G5} ± {se:G3}, free probability {predicted:G5}, tolerance {tolerance:G3}");
        if (activation == Activation.Relu) Assert.Equal(weights == WeightInit.Gaussian ? 2.0 * depth : depth, predicted, 1e-9); // Pennington et al.'s relu values
    }

    [Fact]
    public void OrthogonalTanhWithSmallQStarIsNearlyIsometricAndReluIsNot()
    {
        // Pennington et al. (2017): isometry needs orthogonal weights, χ₁ = 1 and small q*; relu's D has half zeros, so its spread grows like L.
        const int depth = 32;
        var tanh = new MeanField(Activation.Tanh).EdgeOfChaos(1e-3);
        double Spread(Activation a, double sigmaW2, double sigmaB2, WeightInit w, double q) =>
            JacobianSpectrum.Spread(JacobianSpectrum.SingularValues(new RandomNetwork(a, sigmaW2, sigmaB2, depth, 128, w, q), seed: 5));
        double orthogonalTanh = Spread(Activation.Tanh, tanh.SigmaW2, 1e-3, WeightInit.Orthogonal, tanh.QStar);
        double gaussianTanh = Spread(Activation.Tanh, tanh.SigmaW2, 1e-3, WeightInit.Gaussian, tanh.QStar);
        double orthogonalRelu = Spread(Activation.Relu, 2, 0, WeightInit.Orthogonal, 1);
        Assert.True(orthogonalTanh < 0.1 * gaussianTanh, $"orthogonal tanh {orthogonalTanh}, Gaussian tanh {gaussianTanh}");
        Assert.True(orthogonalTanh < 0.1 * orthogonalRelu, $"orthogonal tanh {orthogonalTanh}, orthogonal relu {orthogonalRelu}");
    }
}
