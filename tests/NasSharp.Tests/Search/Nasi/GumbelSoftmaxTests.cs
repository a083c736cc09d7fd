using NasSharp.Search.Nasi;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Search.Nasi;

[Collection(TorchCollection.Name)]
public class GumbelSoftmaxTests
{
    [Fact]
    public void NoiseHasTheGumbelMeanAndTheGumbelMaxTrickSamplesSoftmax()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(5);
        const int n = 200_000;
        var noise = GumbelSoftmax.Noise([n, 3], generator);
        // E[g] = Euler–Mascheroni γ ≈ 0.5772, Var[g] = π²/6; the standard error of the mean over 6·10⁵ draws is 1.7e-3.
        Assert.Equal(0.5772156649, noise.mean().item<double>(), 0.01);
        Assert.Equal(Math.PI * Math.PI / 6, noise.var().item<double>(), 0.03);
        // argmax(α + g) ~ Categorical(softmax(α)): frequencies within 5 standard errors (≤ 5.5e-3 here).
        var alpha = tensor(new[] { 1.0, 0.0, -1.0 });
        var counts = (noise + alpha).argmax(1).bincount(null, 3).to_type(ScalarType.Float64) / n;
        var p = alpha.softmax(0);
        for (int i = 0; i < 3; i++) Assert.Equal(p[i].item<double>(), counts[i].item<double>(), 0.0055);
    }

    [Fact]
    public void LowTemperatureIsTheOneHotArgmaxAndHighTemperatureIsUniform()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(6);
        var alpha = tensor(new[,] { { 0.3, -0.2, 1.1, 0.0 }, { 0.0, 0.0, 0.0, 0.0 } });
        var noise = GumbelSoftmax.Noise([2, 4], generator);
        var cold = GumbelSoftmax.Weights(alpha, noise, 1e-4);
        var hot = GumbelSoftmax.Weights(alpha, noise, 1e6);
        var argmax = (alpha + noise).argmax(1);
        for (int e = 0; e < 2; e++)
            for (int o = 0; o < 4; o++)
            {
                Assert.Equal(o == argmax[e].item<long>() ? 1.0 : 0.0, cold[e, o].item<double>(), 1e-12);
                Assert.Equal(0.25, hot[e, o].item<double>(), 1e-5);
            }
        Assert.Throws<ArgumentOutOfRangeException>(() => GumbelSoftmax.Weights(alpha, noise, 0));
    }

    [Fact]
    public void StraightThroughIsTheOneHotSampleForwardAndTheSoftGradientBackward()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(8);
        var noise = GumbelSoftmax.Noise([3, 5], generator);
        var values = new[,] { { 0.3, -0.2, 1.1, 0.0, 0.4 }, { 0.0, 0.0, 0.0, 0.0, 0.0 }, { -1.0, 2.0, 0.5, 0.1, 0.0 } };
        var a = tensor(values).requires_grad_(true);
        var b = tensor(values).requires_grad_(true);
        var hard = GumbelSoftmax.HardWeights(a, noise, 0.7);
        var soft = GumbelSoftmax.Weights(b, noise, 0.7);
        var argmax = (tensor(values) + noise).argmax(1);
        for (int e = 0; e < 3; e++)
            for (int o = 0; o < 5; o++)
                Assert.Equal(o == argmax[e].item<long>() ? 1.0 : 0.0, hard[e, o].item<double>(), 1e-12);
        // Any downstream function: the gradient reaching α is the soft weights' (evaluated at the one-hot forward value).
        var c = tensor(new[,] { { 1.0, 2.0, 3.0, 4.0, 5.0 }, { -1.0, 0.5, 2.0, 0.0, 1.0 }, { 0.3, 0.3, -2.0, 1.0, 0.0 } });
        (hard * c).sum().backward();
        (soft * c).sum().backward();
        Assert.True(a.grad!.allclose(b.grad!, rtol: 0, atol: 1e-12));
        Assert.True(a.grad!.abs().sum().item<double>() > 0);
    }

    [Fact]
    public void TheSameSeedGivesTheSameNoise()
    {
        using var scope = NewDisposeScope();
        using var a = new Generator(42);
        using var b = new Generator(42);
        using var c = new Generator(43);
        var x = GumbelSoftmax.Noise([6, 5], a);
        Assert.True(x.equal(GumbelSoftmax.Noise([6, 5], b)).all().item<bool>());
        Assert.False(x.equal(GumbelSoftmax.Noise([6, 5], c)).all().item<bool>());
    }
}
